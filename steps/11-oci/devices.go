//go:build linux

package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Devices are the hardware's doors: a process that opens /dev/sda reads
// the host's disk, whatever the mounts say. The container's device
// allow-list is the devices list: the only nodes in its /dev, bound
// from the host's. Three more locks keep other nodes shut:
//
//   - mknod: in a user namespace the kernel refuses to make a device
//     node whatever the capabilities (and MKNOD is dropped anyway);
//   - the root is nodev (restrictDevices): a node that comes with the
//     image, which the host's root may have made, does not open;
//   - /dev is a fresh tmpfs, and mounts made in a user namespace are
//     nodev by the kernel's rule.
//
// A runtime without a user namespace cannot rely on those, so runc adds
// the cgroup's device rules: on cgroup v1 the devices controller
// (devices.allow, devices.deny), on v2 a BPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup, which
// the kernel asks before every open or mknod of a device. stepbox runs
// every container in a user namespace, so it does without: loading BPF
// programs would be a lesson of its own, and on the pure cgroup v2
// machines the course targets there is no devices controller to write.

// devices are the character devices ordinary programs expect: shells
// redirect to /dev/null, Go's os/exec opens it for unset stdio, crypto
// reads /dev/urandom.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// restrictDevices makes the container's root nodev: device nodes on it,
// such as ones an image brings, no longer open (EACCES). The bound
// devices live on /dev, a mount of its own, and are not affected.
func restrictDevices(rootfs string) error {
	if err := setMountAttr(rootfs, unix.MOUNT_ATTR_NODEV, 0); err != nil {
		return fmt.Errorf("cannot make the root %q nodev: %w", rootfs, err)
	}
	return nil
}
