//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A bundle is a directory with config.json, the container's whole
// description, and (usually) its root filesystem. It is read with the
// spec's own Go types: the spec's JSON names, its nesting and its
// optional fields (nil pointers) come from the people who wrote the spec,
// not from our reading of it.

// bundle is a loaded, checked bundle.
type bundle struct {
	dir    string      // absolute
	spec   *specs.Spec // config.json
	rootfs string      // root.path, absolute: a relative one is resolved against dir, never the working directory
}

// loadBundle reads and checks dir/config.json. Every error names the
// file and what to do.
func loadBundle(dir string) (*bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", dir, err)
	}
	path := filepath.Join(abs, "config.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no config.json in bundle %q: pass --bundle DIR, the directory that holds it", abs)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	spec := &specs.Spec{}
	if err := json.Unmarshal(data, spec); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON for the OCI runtime spec: %w", path, err)
	}
	if err := checkSpec(spec); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b := &bundle{dir: abs, spec: spec, rootfs: spec.Root.Path}
	if !filepath.IsAbs(b.rootfs) {
		b.rootfs = filepath.Join(abs, b.rootfs) // the spec says: relative to the bundle
	}
	if info, err := os.Stat(b.rootfs); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("root.path %q (%s) is not a directory: unpack the image's filesystem there", spec.Root.Path, b.rootfs)
	}
	return b, nil
}

// specVersion is the range of versions this runtime understands: 1.0.x
// to 1.2.x, the ones whose fields specs-go v1.0.2 can hold or that only
// add fields it ignores.
var specVersion = versionRange{major: "1", minors: "012"}

// versionRange matches "MAJOR.MINOR.PATCH" with one of its minors and
// any patch, and an optional "-suffix" (1.0.2-dev). It is a few lines of
// string code, not a regexp: a package-level regexp is compiled before
// main in every process of this program, and "run" is three of them (the
// runtime, the container's init, the child), each paying about 0.5 ms.
type versionRange struct {
	major  string
	minors string // each byte a minor version, "012" for 0, 1 and 2
}

// MatchString reports whether v is in the range.
func (r versionRange) MatchString(v string) bool {
	v, suffix, hasSuffix := strings.Cut(v, "-")
	if hasSuffix && (suffix == "" || strings.Contains(suffix, "\n")) {
		return false // the suffix may be anything on one line, but not nothing
	}
	major, rest, ok := strings.Cut(v, ".")
	if !ok || major != r.major {
		return false
	}
	minor, patch, ok := strings.Cut(rest, ".")
	if !ok || len(minor) != 1 || !strings.Contains(r.minors, minor) {
		return false
	}
	return patch != "" && strings.Trim(patch, "0123456789") == ""
}

// checkSpec refuses what this runtime cannot do faithfully, before
// anything is created.
func checkSpec(spec *specs.Spec) error {
	switch {
	case !specVersion.MatchString(spec.Version):
		return fmt.Errorf("ociVersion %q is not supported: stepbox runs 1.0.x to 1.2.x", spec.Version)
	case spec.Root == nil || spec.Root.Path == "":
		return errors.New("root.path is missing: say where the container's root filesystem is")
	case spec.Process == nil || len(spec.Process.Args) == 0:
		return errors.New("process.args is missing: say what the container runs")
	case spec.Linux == nil:
		return errors.New("linux is missing: stepbox runs Linux containers")
	}
	for _, ns := range spec.Linux.Namespaces {
		if _, ok := namespaceFlag[ns.Type]; !ok {
			return fmt.Errorf("namespace type %q is not supported", ns.Type)
		}
		if ns.Type == specs.UserNamespace && ns.Path != "" {
			return fmt.Errorf("cannot join the user namespace %s: the kernel lets only a single-threaded process into a user namespace, and a Go program always has several threads", ns.Path)
		}
	}
	return nil
}

// validID keeps ids to names that are safe as a directory name.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 1024 || strings.Trim(id, idChars) != "" {
		return fmt.Errorf("invalid container id %q: use letters, digits, '_', '-', '.' and '+'", id)
	}
	return nil
}

// idChars are the bytes an id may hold (strings.Trim above removes them
// all from a valid id; anything left, a '/' or a NUL among it, is not).
const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+.-"
