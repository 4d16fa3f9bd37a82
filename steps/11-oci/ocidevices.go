//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// When config.json mounts a fresh /dev (a tmpfs), the runtime fills it,
// as runc does: the devices every container gets (null, zero, full,
// random, urandom, tty), those linux.devices lists, and the links
// programs expect (/dev/fd, /dev/stdin, /dev/ptmx). Without a user
// namespace the init is the host's root and makes the nodes with
// mknod(2); in one, the kernel refuses, so the host's nodes are bound in
// (step 10's bindDev). Which devices the container may open is then the
// cgroup's business (linux.resources.devices), which this step leaves to
// the kernel's defaults: see the README.

// defaultDevices are the nodes every container's /dev has.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}, {Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7}, {Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9}, {Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// createDevices fills a /dev that config.json mounted.
func createDevices(rootfs string, spec *specs.Spec) error {
	if !mountsDev(spec) {
		return nil
	}
	inUserns := wants(spec, specs.UserNamespace)
	for _, d := range append(defaultDevices, spec.Linux.Devices...) {
		if err := createDevice(rootfs, d, inUserns); err != nil {
			return err
		}
	}
	return devLinks(rootfs)
}

// mountsDev reports whether config.json mounts something on /dev.
func mountsDev(spec *specs.Spec) bool {
	for _, m := range spec.Mounts {
		if filepath.Clean(m.Destination) == "/dev" {
			return true
		}
	}
	return false
}

// createDevice makes one node, replacing a file already there.
func createDevice(rootfs string, d specs.LinuxDevice, inUserns bool) error {
	path, err := inRoot(rootfs, d.Path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", filepath.Dir(path), err)
	}
	if inUserns {
		return bindDevice(d.Path, path)
	}
	return mknodDevice(d, path)
}

// mknodDevice makes a device node with the spec's type, numbers, mode
// and owner.
func mknodDevice(d specs.LinuxDevice, path string) error {
	kinds := map[string]uint32{"c": unix.S_IFCHR, "u": unix.S_IFCHR, "b": unix.S_IFBLK, "p": unix.S_IFIFO}
	kind, ok := kinds[d.Type]
	if !ok {
		return fmt.Errorf("device %s: unknown type %q (c, b, u or p)", d.Path, d.Type)
	}
	mode := uint32(0o666)
	if d.FileMode != nil {
		mode = uint32(d.FileMode.Perm())
	}
	_ = os.Remove(path)
	if err := unix.Mknod(path, kind|mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
		return fmt.Errorf("cannot create device %s: %w", d.Path, err)
	}
	if err := unix.Chmod(path, mode); err != nil { // mknod's mode passed through our umask
		return fmt.Errorf("cannot set the mode of device %s: %w", d.Path, err)
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("cannot set the owner of device %s: %w", d.Path, err)
	}
	return nil
}

// bindDevice binds the host's node of that path onto an empty file.
func bindDevice(hostPath, path string) error {
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return fmt.Errorf("cannot create %s to bind %s onto: %w", path, hostPath, err)
	}
	if err := unix.Mount(hostPath, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot bind-mount device %s: %w", hostPath, err)
	}
	return nil
}

// devLinks are the symlinks of a standard /dev.
func devLinks(rootfs string) error {
	links := [][2]string{{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
		{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"}}
	for _, l := range links {
		path := filepath.Join(rootfs, "dev", l[1])
		if l[1] == "ptmx" {
			_ = os.Remove(path) // a node from the image would open the host's ptmx
		}
		if err := os.Symlink(l[0], path); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot link /dev/%s: %w", l[1], err)
		}
	}
	return nil
}
