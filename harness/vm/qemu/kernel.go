// Package qemu is the host side of the QEMU test backend: it fetches a
// pinned Debian kernel for the guest's architecture (amd64 or arm64),
// builds the static binaries the guest runs, writes an initramfs with
// them, boots it under qemu-system-x86_64 or qemu-system-aarch64 (software
// emulation is enough; KVM is used when it can be), and reads the results
// off the serial console. Nothing here needs root on the host.
package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Kernel is an unpacked kernel package.
type Kernel struct {
	Vmlinuz string // the bootable image
	Modules string // /lib/modules/RELEASE of the package
	Release string // e.g. 6.1.0-47-amd64
}

// FetchKernel returns the guest's pinned kernel, unpacked in cache,
// downloading and unpacking it on first use. deb, when not empty, is a
// .deb to use instead of downloading (for machines without the archive).
func FetchKernel(cache, deb string, a Arch) (*Kernel, error) {
	dir := filepath.Join(cache, "kernel-"+a.Kernel.Package+"_"+a.Kernel.Version)
	if deb != "" {
		dir = filepath.Join(cache, "kernel-"+strings.TrimSuffix(filepath.Base(deb), ".deb"))
	}
	if k, err := findKernel(dir); err == nil {
		return k, nil
	}
	if deb == "" {
		var err error
		if deb, err = fetchDeb(cache, a.Kernel); err != nil {
			return nil, err
		}
	}
	if err := unpackDeb(deb, dir); err != nil {
		return nil, err
	}
	return findKernel(dir)
}

// unpackDeb extracts a .deb into dir with dpkg-deb -x (no root needed),
// through a temporary directory so a half-unpacked package is never used.
func unpackDeb(deb, dir string) error {
	tmp := dir + ".unpacking"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("unpacking %s: %w", deb, err)
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("dpkg-deb -x %s: %w\n%s", deb, err, strings.TrimSpace(string(out)))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("unpacking %s: %w", deb, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("unpacking %s: %w", deb, err)
	}
	return nil
}

// findKernel locates the image and the modules in an unpacked package.
func findKernel(dir string) (*Kernel, error) {
	images, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(images) != 1 {
		return nil, fmt.Errorf("%s: want one boot/vmlinuz-*, found %d", dir, len(images))
	}
	release := strings.TrimPrefix(filepath.Base(images[0]), "vmlinuz-")
	modules := filepath.Join(dir, "lib", "modules", release)
	if _, err := os.Stat(filepath.Join(modules, "kernel")); err != nil {
		return nil, errors.Join(fmt.Errorf("%s has no modules for %s", dir, release), err)
	}
	return &Kernel{Vmlinuz: images[0], Modules: modules, Release: release}, nil
}
