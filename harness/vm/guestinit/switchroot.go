package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/stepbox/stepbox/harness/fsutil"
	"golang.org/x/sys/unix"
)

// switchRoot moves everything from the initramfs into a tmpfs at newRoot
// and makes that the root, as switch_root does. pivot_root(2) refuses to
// move the initramfs's rootfs, so without this every step from 04 on
// would fail with EINVAL in the guest only. Files are deleted from the
// initramfs as they are copied, so memory holds one copy at a time.
func switchRoot(newRoot string) error {
	if err := os.Mkdir(newRoot, 0o755); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	if err := unix.Mount("tmpfs", newRoot, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("switch root: mounting a tmpfs on %s: %w", newRoot, err)
	}
	if err := moveTree("/", newRoot); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	if err := os.Chdir(newRoot); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("switch root: moving %s to /: %w", newRoot, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("switch root: chroot: %w", err)
	}
	if err := os.Chdir("/"); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	return nil
}

// moveTree copies the tree at src into dst, skipping dst itself, and
// removes each file once copied.
func moveTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == dst {
			return filepath.SkipDir
		}
		if path == src {
			return nil
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := copyEntry(path, target, info); err != nil {
			return fmt.Errorf("copying %s: %w", path, err)
		}
		if !info.IsDir() {
			_ = os.Remove(path)
		}
		return nil
	})
}

// copyEntry recreates one directory, file, link or device node.
func copyEntry(path, target string, info fs.FileInfo) error {
	mode := info.Mode()
	st, _ := info.Sys().(*syscall.Stat_t)
	switch {
	case mode.IsDir():
		if err := os.Mkdir(target, mode.Perm()); err != nil {
			return err
		}
		return os.Chmod(target, mode.Perm()|mode&(fs.ModeSticky|fs.ModeSetuid|fs.ModeSetgid))
	case mode&fs.ModeSymlink != 0:
		link, err := os.Readlink(path)
		if err != nil {
			return err
		}
		return os.Symlink(link, target)
	case mode&fs.ModeDevice != 0 && st != nil:
		return unix.Mknod(target, st.Mode, int(st.Rdev)) // lstat gives syscall.Stat_t
	case mode.IsRegular():
		return fsutil.CopyFile(path, target, mode.Perm())
	default:
		return fmt.Errorf("cannot copy a %v", mode.Type())
	}
}
