//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// The state directory (--state-dir, default /var/lib/stepbox) holds the
// image store and one directory per container:
//
//	STATE/images/NAME/              an imported image (stepbox import)
//	STATE/containers/ID/image       the image's path, for "stepbox layers"
//	STATE/containers/ID/upper/      the container's writes (copy-ups, new files, whiteouts)
//	STATE/containers/ID/work/       overlayfs's scratch space; same filesystem as upper
//	STATE/containers/ID/merged/     where the child attaches the overlay
//
// A throwaway layer (run --rm in the foreground, the default) has its
// upper and work directories on a tmpfs of its own instead, seen only by
// the overlay: nothing of its writes is on disk (see overlay.go).
//
// It must be on the host's own disk: tmpfs works but is lost at reboot,
// and a network filesystem is no upper layer (the kernel refuses it).

// defaultStateDir is where the layers and images live.
const defaultStateDir = "/var/lib/stepbox"

// layer is one container's writable layer.
type layer struct {
	id, dir, upper, work, merged string
	socket                       *os.File // the parent's end of the socket the overlay goes through
	throwaway                    bool     // removed as soon as the container exits: upper and work on a tmpfs (see overlay.go)
}

// newLayer names a container's layer and creates its directory under
// stateDir, searchable by all (0711): the child, root of its user
// namespace but an unprivileged id on the host, must reach merged. What
// goes inside is made by fill, once the child has started.
func newLayer(stateDir string, throwaway bool) (*layer, error) {
	parent := filepath.Join(stateDir, "containers")
	if err := mkdirSearchable(stateDir, parent); err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%012x", rand.Uint64()>>16) // 12 hex digits, like docker's short ids
	l := &layer{id: id, dir: filepath.Join(parent, id), throwaway: throwaway}
	l.upper, l.work, l.merged = filepath.Join(l.dir, "upper"), filepath.Join(l.dir, "work"), filepath.Join(l.dir, "merged")
	if err := os.Mkdir(l.dir, 0o711); err != nil {
		return nil, fmt.Errorf("cannot create the container's layer %q: %w", l.dir, err)
	}
	return l, nil
}

// fill creates the layer's directories and records its image. The child
// needs none of it until the overlay reaches it, so this runs while its
// Go runtime starts, not before the clone. A throwaway layer has no
// upper and work directories on disk: they are made on a tmpfs of their
// own with the overlay (see overlay.go).
func (l *layer) fill(image string) error {
	dirs := []string{l.merged}
	if !l.throwaway {
		dirs = append(dirs, l.upper, l.work)
	}
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("cannot create %q: %w", d, err)
		}
	}
	if err := os.WriteFile(filepath.Join(l.dir, "image"), []byte(image+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot record the container's image: %w", err)
	}
	return nil
}

// mkdirSearchable creates each directory that does not exist, mode 0711.
func mkdirSearchable(dirs ...string) error {
	for _, d := range dirs {
		if err := os.Mkdir(d, 0o711); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create state directory %q: %w (pass --state-dir DIR)", d, err)
		}
	}
	return nil
}

// remove deletes the layer: the container's writes go with it. The
// overlay was mounted only in the container's mount namespace, which
// the kernel tore down when its last process exited.
func (l *layer) remove() error {
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("cannot remove the container's layer %q: %w", l.dir, err)
	}
	return nil
}

// listLayers is "stepbox layers": every container's layer, one line
// each: ID, image, upper directory ("-" for a throwaway one, which has
// none on disk).
func listLayers(args []string) int {
	cfg, err := parseStateFlags("layers", args, 0)
	if err != nil {
		return failed(exitUsage, err)
	}
	parent := filepath.Join(cfg.stateDir, "containers")
	entries, err := os.ReadDir(parent)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return failed(exitRuntime, fmt.Errorf("cannot list the layers in %q: %w", parent, err))
	}
	for _, e := range entries {
		image, _ := os.ReadFile(filepath.Join(parent, e.Name(), "image"))
		upper := filepath.Join(parent, e.Name(), "upper")
		if _, err := os.Stat(upper); err != nil {
			upper = "-" // a throwaway layer: on its tmpfs, seen by no one but the overlay
		}
		fmt.Printf("%s\t%s\t%s\n", e.Name(), strings.TrimSpace(string(image)), upper)
	}
	return 0
}
