//go:build linux

package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// The image store: "stepbox import FILE NAME" unpacks a tarball (plain
// or gzipped, like a minirootfs or `docker export`) into
// STATE/images/NAME, and "run --image NAME" uses it as the lower layer.
// Without --image the image is the --rootfs directory (./rootfs, the
// busybox rootfs, by default).

// stateConfig is what import and layers were asked.
type stateConfig struct {
	stateDir string
	args     []string
}

// parseStateFlags parses "[--state-dir DIR] ARG..." with exactly nargs
// arguments.
func parseStateFlags(name string, args []string, nargs int) (stateConfig, error) {
	var cfg stateConfig
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	flags.SetOutput(io.Discard)
	flags.StringVar(&cfg.stateDir, "state-dir", defaultStateDir, "where images and layers live")
	if err := flags.Parse(args); err != nil {
		return cfg, withUsage(err)
	}
	if cfg.args = flags.Args(); len(cfg.args) != nargs {
		return cfg, withUsage(fmt.Errorf("%s takes %d arguments, got %d", name, nargs, len(cfg.args)))
	}
	return cfg, nil
}

// validImageName reports whether name may name an image, which becomes a
// directory name: 1 to 64 lower-case letters, digits, '.', '_' and '-',
// the first a letter or a digit (so never "." or ".."). A loop, not a
// package-level regexp: that would be compiled before main in every
// process, the container's child too (see "Why it is fast").
func validImageName(name string) bool {
	if len(name) == 0 || len(name) > 64 {
		return false
	}
	for i, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// imageDir is where the store keeps image name.
func imageDir(stateDir, name string) string { return filepath.Join(stateDir, "images", name) }

// importImage is "stepbox import [--state-dir DIR] FILE NAME". It unpacks
// into a temporary directory and renames it into place, so a failed
// import leaves no half image behind.
func importImage(args []string) int {
	cfg, err := parseStateFlags("import", args, 2)
	if err != nil {
		return failed(exitUsage, err)
	}
	file, name := cfg.args[0], cfg.args[1]
	if !validImageName(name) {
		return failed(exitUsage, fmt.Errorf("image name %q: use lower-case letters, digits, '.', '_' and '-'", name))
	}
	dst := imageDir(cfg.stateDir, name)
	if _, err := os.Lstat(dst); err == nil {
		return failed(exitRuntime, fmt.Errorf("image %q exists already in %s", name, dst))
	}
	if err := mkdirSearchable(cfg.stateDir, filepath.Dir(dst)); err != nil {
		return failed(exitRuntime, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), "."+name+"-importing-")
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot import: %w", err))
	}
	defer os.RemoveAll(tmp) // gone after the rename
	if err := os.Chmod(tmp, 0o755); err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot import: %w", err))
	}
	if err := unpackFile(file, tmp); err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot import %q: %w", file, err))
	}
	if err := os.Rename(tmp, dst); err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot import %q: %w", file, err))
	}
	fmt.Println(name)
	return 0
}

// unpackFile unpacks a tarball, gzipped or not, into dir.
func unpackFile(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var in io.Reader = r
	if magic, _ := r.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return err
		}
		defer gz.Close()
		in = gz
	}
	return unpack(tar.NewReader(in), dir)
}

// unpack writes every entry of a tar stream under dir, with its mode
// and, as root, its owner. A tarball is untrusted input: an entry may
// not climb out of dir ("../x", or through a symbolic link unpacked
// earlier, "etc -> /" then "etc/passwd").
func unpack(tr *tar.Reader, dir string) error {
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		path, err := insideDir(dir, h.Name)
		if err != nil {
			return err
		}
		if path == dir {
			continue // "./": the image's root is dir itself
		}
		if err := unpackEntry(tr, h, dir, path); err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
}

// unpackEntry writes one entry at path.
func unpackEntry(tr *tar.Reader, h *tar.Header, dir, path string) error {
	mode := os.FileMode(h.Mode).Perm() | os.FileMode(h.Mode)&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(path, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
	case tar.TypeReg:
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if closeErr := f.Close(); err == nil {
			err = closeErr
		}
		if err != nil {
			return err
		}
	case tar.TypeSymlink:
		return lchown(os.Symlink(h.Linkname, path), path, h)
	case tar.TypeLink:
		target, err := insideDir(dir, h.Linkname)
		if err != nil {
			return err
		}
		return os.Link(target, path)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		return mknodEntry(h, path)
	default:
		return nil // extended headers and the like carry no file
	}
	if err := lchown(nil, path, h); err != nil {
		return err
	}
	return os.Chmod(path, mode) // after chown, which clears set-id bits
}

// mknodEntry makes a device or fifo entry; the kernel refuses devices to
// an ordinary user, so unpacking a rootfs with /dev needs root.
func mknodEntry(h *tar.Header, path string) error {
	kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[h.Typeflag]
	dev := unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor))
	if err := unix.Mknod(path, kind|uint32(h.Mode&0o7777), int(dev)); err != nil {
		return err
	}
	return lchown(nil, path, h)
}

// lchown gives path the entry's owner when we are root (an ordinary
// user's files stay theirs), unless err already failed the entry.
func lchown(err error, path string, h *tar.Header) error {
	if err != nil || os.Geteuid() != 0 {
		return err
	}
	return os.Lchown(path, h.Uid, h.Gid)
}

// insideDir joins name to dir and refuses a path that leaves dir, also
// through a symbolic link already unpacked on the way.
func insideDir(dir, name string) (string, error) {
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("entry %q leaves the image", name)
		}
	}
	path := filepath.Join(dir, filepath.Clean("/"+name)) // "/etc" and "etc" alike
	for p := filepath.Dir(path); len(p) > len(dir); p = filepath.Dir(p) {
		if info, err := os.Lstat(p); err == nil && info.Mode()&os.ModeSymlink != 0 {
			return "", fmt.Errorf("entry %q goes through the symbolic link %q", name, strings.TrimPrefix(p, dir))
		}
	}
	return path, nil
}
