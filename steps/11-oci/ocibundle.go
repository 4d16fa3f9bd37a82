//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
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

// specVersion matches the versions this runtime understands: 1.0.x to
// 1.2.x, the ones whose fields specs-go v1.0.2 can hold or that only
// add fields it ignores.
var specVersion = regexp.MustCompile(`^1\.[0-2]\.[0-9]+(-.+)?$`)

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
	if id == "" || id == "." || id == ".." || len(id) > 1024 || strings.ContainsAny(id, "/\x00") || !containerName.MatchString(id) {
		return fmt.Errorf("invalid container id %q: use letters, digits, '_', '-', '.' and '+'", id)
	}
	return nil
}

var containerName = regexp.MustCompile(`^[A-Za-z0-9_+.\-]+$`)
