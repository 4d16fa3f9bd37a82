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
// It must be on the host's own disk: tmpfs works but is lost at reboot,
// and a network filesystem is no upper layer (the kernel refuses it).

// defaultStateDir is where the layers and images live.
const defaultStateDir = "/var/lib/stepbox"

// layer is one container's writable layer.
type layer struct {
	id, dir, upper, work, merged string
	socket                       *os.File // the parent's end of the socket the overlay goes through
	throwaway                    bool     // removed as soon as the container exits: never synced (see overlay.go)
}

// newLayer creates a container's layer directories under stateDir. The
// directories are searchable by all (0711): the child, root of its user
// namespace but an unprivileged id on the host, must reach merged.
func newLayer(stateDir, image string) (*layer, error) {
	parent := filepath.Join(stateDir, "containers")
	if err := mkdirSearchable(stateDir, parent); err != nil {
		return nil, err
	}
	id := fmt.Sprintf("%012x", rand.Uint64()>>16) // 12 hex digits, like docker's short ids
	l := &layer{id: id, dir: filepath.Join(parent, id)}
	l.upper, l.work, l.merged = filepath.Join(l.dir, "upper"), filepath.Join(l.dir, "work"), filepath.Join(l.dir, "merged")
	if err := os.Mkdir(l.dir, 0o711); err != nil {
		return nil, fmt.Errorf("cannot create the container's layer %q: %w", l.dir, err)
	}
	for _, d := range []string{l.upper, l.work, l.merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			_ = l.remove()
			return nil, fmt.Errorf("cannot create %q: %w", d, err)
		}
	}
	if err := os.WriteFile(filepath.Join(l.dir, "image"), []byte(image+"\n"), 0o644); err != nil {
		_ = l.remove()
		return nil, fmt.Errorf("cannot record the container's image: %w", err)
	}
	return l, nil
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

// listLayers is "stepbox layers": the layers kept with --rm=false, one
// line each: ID, image, upper directory.
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
		fmt.Printf("%s\t%s\t%s\n", e.Name(), strings.TrimSpace(string(image)), filepath.Join(parent, e.Name(), "upper"))
	}
	return 0
}
