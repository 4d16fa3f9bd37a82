//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The fresh /proc still shows some of the host: the kernel's memory
// (/proc/kcore), its keyrings, its timers and interrupt counts, and it
// still lets root tune the kernel (/proc/sys, /proc/sysrq-trigger). The
// user namespace shuts most of those doors, because the files belong to
// the host's root; the rest, the files anyone may read and the sysctls
// of the container's own namespaces, is hidden or made read-only here,
// as runc does.

// maskedPaths are covered: files by the null device (they read empty),
// directories by an empty read-only tmpfs. Those this kernel lacks are
// skipped.
var maskedPaths = []string{
	"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
	"/proc/timer_stats", "/proc/interrupts", "/proc/acpi", "/proc/asound", "/proc/scsi",
	"/sys/firmware",
}

// readOnlyPaths stay readable but take no writes.
var readOnlyPaths = []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"}

// maskPaths covers each masked path of the rootfs. It runs before the
// pivot, while the host's /dev/null is in reach.
func maskPaths(rootfs string) error {
	for _, p := range maskedPaths {
		path := filepath.Join(rootfs, p)
		info, err := os.Stat(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot mask %s: %w", p, err)
		}
		if info.IsDir() {
			err = maskDir(path)
		} else {
			err = maskFile(path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// maskFile bind-mounts the null device over a file: it opens, and reads
// nothing.
func maskFile(path string) error {
	if err := unix.Mount("/dev/null", path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot mask %s with /dev/null: %w", path, err)
	}
	return nil
}

// maskDir mounts an empty read-only tmpfs over a directory.
func maskDir(path string) error {
	if err := unix.Mount("tmpfs", path, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0"); err != nil {
		return fmt.Errorf("cannot mask %s with an empty tmpfs: %w", path, err)
	}
	return nil
}

// makePathsReadOnly binds each read-only path onto itself and makes
// that bind read-only.
func makePathsReadOnly(rootfs string) error {
	for _, p := range readOnlyPaths {
		path := filepath.Join(rootfs, p)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := unix.Mount(path, path, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("cannot bind %s onto itself: %w", p, err)
		}
		if err := setMountAttr(path, unix.MOUNT_ATTR_RDONLY, unix.AT_RECURSIVE); err != nil {
			return fmt.Errorf("cannot make %s read-only: %w", p, err)
		}
	}
	return nil
}

// makeRootReadOnly is --read-only: the whole root takes no writes, so a
// compromised program cannot plant or change a file anywhere. Only the
// mounts on top (/proc, /dev) stay as they are.
func makeRootReadOnly(rootfs string) error {
	if err := setMountAttr(rootfs, unix.MOUNT_ATTR_RDONLY, 0); err != nil {
		return fmt.Errorf("cannot make the root %q read-only: %w", rootfs, err)
	}
	return nil
}

// setMountAttr sets attributes on the mount at path with
// mount_setattr(2), which changes one flag and leaves the others (and
// the ones the host locked) as they are; with AT_RECURSIVE, also on the
// mounts below it.
func setMountAttr(path string, attr uint64, flags uint) error {
	return unix.MountSetattr(unix.AT_FDCWD, path, flags, &unix.MountAttr{Attr_set: attr})
}
