//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// buildRoot is the mount half of create, in the init's new mount
// namespace: step 10's order, with config.json saying what to mount.
func buildRoot(b *bundle, st specs.State) error {
	spec := b.spec
	if err := setPropagation(spec.Linux.RootfsPropagation); err != nil {
		return err
	}
	if err := makeParentPrivate(b.rootfs); err != nil {
		return err
	}
	if err := bindMountRootfs(b.rootfs); err != nil {
		return err
	}
	for _, m := range spec.Mounts {
		if err := mountOne(b.rootfs, m); err != nil {
			return err
		}
	}
	if err := createDevices(b.rootfs, spec); err != nil {
		return err
	}
	if err := runHooks("createContainer", spec.Hooks, &record{State: st}); err != nil {
		return err
	}
	if err := pivotRoot(b.rootfs); err != nil {
		return err
	}
	if err := detachOldRoot(); err != nil {
		return err
	}
	if spec.Linux.RootfsPropagation != "" {
		if err := setPropagation(spec.Linux.RootfsPropagation); err != nil {
			return err // the new / as asked, now that the pivot is done
		}
	}
	if err := writeSysctls(spec.Linux.Sysctl); err != nil {
		return err // before /proc/sys turns read-only
	}
	return confinePaths(spec)
}

// makeParentPrivate makes the mount that holds the rootfs private (not
// recursively). pivot_root refuses (EINVAL) when the new root's parent
// mount is shared, which it is after rootfsPropagation "shared".
func makeParentPrivate(rootfs string) error {
	parent := mountPointOf(rootfs)
	if err := unix.Mount("", parent, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("cannot make %s, the mount holding the rootfs, private: %w", parent, err)
	}
	return nil
}

// mountPointOf is the mount point path is on: the longest mount point
// in /proc/self/mountinfo that is path or a directory above it.
func mountPointOf(path string) string {
	data, _ := os.ReadFile("/proc/self/mountinfo") // unreadable: "/" below, and the mount says why
	best := "/"
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 5 {
			continue
		}
		point := fields[4]
		if (path == point || strings.HasPrefix(path, strings.TrimSuffix(point, "/")+"/")) && len(point) > len(best) {
			best = point
		}
	}
	return best
}

// setPropagation makes every mount recursively private (the default),
// slave or shared, as linux.rootfsPropagation says, before any mount:
// see step 03 for why a shared / would leak our mounts to the host.
func setPropagation(mode string) error {
	flags := map[string]uintptr{"": unix.MS_PRIVATE, "private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE,
		"slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE, "shared": unix.MS_SHARED, "rshared": unix.MS_SHARED,
		"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE}
	flag, ok := flags[mode]
	if !ok {
		return fmt.Errorf("linux.rootfsPropagation %q: use private, slave, shared or unbindable", mode)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|flag, ""); err != nil {
		return fmt.Errorf("cannot make / %s: %w", mode, err)
	}
	return nil
}

// confinePaths masks and makes read-only what the spec lists, then,
// with root.readonly, the root itself. The paths are the container's,
// after the pivot.
func confinePaths(spec *specs.Spec) error {
	for _, p := range spec.Linux.MaskedPaths {
		if err := maskPath(p); err != nil {
			return err
		}
	}
	for _, p := range spec.Linux.ReadonlyPaths {
		if err := readOnlyPath(p); err != nil {
			return err
		}
	}
	if spec.Root.Readonly {
		return makeRootReadOnly("/")
	}
	return nil
}

// maskPath covers a file with /dev/null, a directory with an empty
// read-only tmpfs (step 10); a path this kernel lacks is skipped.
func maskPath(p string) error {
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot mask %s: %w", p, err)
	}
	if info.IsDir() {
		return maskDir(p)
	}
	return maskFile(p)
}

// readOnlyPath binds a path onto itself and makes the bind read-only.
func readOnlyPath(p string) error {
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := unix.Mount(p, p, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind %s onto itself: %w", p, err)
	}
	if err := setMountAttr(p, unix.MOUNT_ATTR_RDONLY, unix.AT_RECURSIVE); err != nil {
		return fmt.Errorf("cannot make %s read-only: %w", p, err)
	}
	return nil
}

// mountFlags are the mount options that are flags; the others go to the
// filesystem as its data ("mode=755", "size=65536k").
var mountFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"ro": {false, unix.MS_RDONLY}, "rw": {true, unix.MS_RDONLY}, "nosuid": {false, unix.MS_NOSUID}, "suid": {true, unix.MS_NOSUID},
	"nodev": {false, unix.MS_NODEV}, "dev": {true, unix.MS_NODEV}, "noexec": {false, unix.MS_NOEXEC}, "exec": {true, unix.MS_NOEXEC},
	"sync": {false, unix.MS_SYNCHRONOUS}, "async": {true, unix.MS_SYNCHRONOUS}, "noatime": {false, unix.MS_NOATIME},
	"atime": {true, unix.MS_NOATIME}, "relatime": {false, unix.MS_RELATIME}, "norelatime": {true, unix.MS_RELATIME},
	"strictatime": {false, unix.MS_STRICTATIME}, "nodiratime": {false, unix.MS_NODIRATIME}, "diratime": {true, unix.MS_NODIRATIME},
	"mand": {false, unix.MS_MANDLOCK}, "nomand": {true, unix.MS_MANDLOCK}, "dirsync": {false, unix.MS_DIRSYNC},
	"bind": {false, unix.MS_BIND}, "rbind": {false, unix.MS_BIND | unix.MS_REC},
}

// propagationFlags are the options that change a mount's propagation,
// applied after the mount itself.
var propagationFlags = map[string]uintptr{
	"private": unix.MS_PRIVATE, "rprivate": unix.MS_PRIVATE | unix.MS_REC, "shared": unix.MS_SHARED,
	"rshared": unix.MS_SHARED | unix.MS_REC, "slave": unix.MS_SLAVE, "rslave": unix.MS_SLAVE | unix.MS_REC,
	"unbindable": unix.MS_UNBINDABLE, "runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// parseOptions splits a mount's options into flags, propagation and data.
func parseOptions(options []string) (flags, propagation uintptr, data string) {
	var extra []string
	for _, o := range options {
		if f, ok := mountFlags[o]; ok {
			if f.clear {
				flags &^= f.flag
			} else {
				flags |= f.flag
			}
		} else if p, ok := propagationFlags[o]; ok {
			propagation |= p
		} else {
			extra = append(extra, o)
		}
	}
	return flags, propagation, strings.Join(extra, ",")
}

// mountOne makes one of config.json's mounts inside the rootfs.
func mountOne(rootfs string, m specs.Mount) error {
	dest, err := inRoot(rootfs, m.Destination)
	if err != nil {
		return err
	}
	flags, propagation, data := parseOptions(m.Options)
	if m.Type == "bind" {
		flags |= unix.MS_BIND
	}
	bind := flags&unix.MS_BIND != 0
	if err := makeMountPoint(dest, m.Source, bind); err != nil {
		return err
	}
	if m.Type == "cgroup" {
		return mountCgroup(dest, flags)
	}
	if err := mountWithFlags(m, dest, flags, data, bind); err != nil {
		return err
	}
	if propagation != 0 {
		if err := unix.Mount("", dest, "", propagation, ""); err != nil {
			return fmt.Errorf("cannot set the propagation of %s: %w", m.Destination, err)
		}
	}
	return nil
}

// mountWithFlags mounts; a bind mount takes no flags but MS_REC at first,
// so a read-only (or nosuid, ...) bind needs a remount with them.
func mountWithFlags(m specs.Mount, dest string, flags uintptr, data string, bind bool) error {
	first := flags
	if bind {
		first = flags & (unix.MS_BIND | unix.MS_REC)
	}
	if err := unix.Mount(m.Source, dest, m.Type, first, data); err != nil {
		return fmt.Errorf("cannot mount %s (%s) on %s: %w", m.Source, m.Type, m.Destination, err)
	}
	if bind && flags&^(unix.MS_BIND|unix.MS_REC) != 0 {
		remount := flags | unix.MS_REMOUNT | unix.MS_BIND
		if err := unix.Mount("", dest, "", remount, ""); err != nil {
			return fmt.Errorf("cannot apply the options of bind mount %s: %w", m.Destination, err)
		}
	}
	return nil
}

// mountCgroup mounts a read-only view of the container's cgroup: on a
// cgroup v2 host, cgroup2 (with a cgroup namespace, the container's own
// subtree); elsewhere a tmpfs, best effort, so /sys/fs/cgroup exists.
func mountCgroup(dest string, flags uintptr) error {
	flags |= unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("cgroup2", dest, "cgroup2", flags, ""); err == nil {
		return nil
	}
	if err := unix.Mount("tmpfs", dest, "tmpfs", flags|unix.MS_RDONLY, "mode=755"); err != nil {
		return fmt.Errorf("cannot mount a cgroup view on %s: %w", dest, err)
	}
	return nil
}

// makeMountPoint creates what a mount goes on: a file for a bind mount
// of a file, a directory otherwise.
func makeMountPoint(dest, source string, bind bool) error {
	if _, err := os.Lstat(dest); err == nil {
		return nil
	}
	if bind {
		if info, err := os.Stat(source); err == nil && !info.IsDir() {
			if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
				return fmt.Errorf("cannot create %s: %w", filepath.Dir(dest), err)
			}
			return os.WriteFile(dest, nil, 0o644)
		}
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("cannot create mount point %s: %w", dest, err)
	}
	return nil
}

// inRoot turns a path of the container into one under rootfs, following
// symlinks inside the rootfs as the container would see them: an image
// whose /etc is a symlink to "/tmp" must get its mount in the rootfs's
// /tmp, never in the host's. Symlinks are followed component by
// component, each absolute target taken from the rootfs.
func inRoot(rootfs, path string) (string, error) {
	parts := strings.Split(filepath.Clean("/"+path), "/")
	resolved := rootfs
	for hops := 0; len(parts) > 0; {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		if part == ".." {
			if resolved != rootfs {
				resolved = filepath.Dir(resolved)
			}
			continue
		}
		next := filepath.Join(resolved, part)
		target, err := os.Readlink(next)
		if err != nil {
			resolved = next // not a symlink, or not there yet: mkdir makes it
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("too many symlinks in %s", path)
		}
		if filepath.IsAbs(target) {
			resolved = rootfs
		}
		parts = append(strings.Split(target, "/"), parts...)
	}
	return resolved, nil
}
