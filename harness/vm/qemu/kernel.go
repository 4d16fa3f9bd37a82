// Package qemu is the host side of the QEMU test backend: it fetches a
// pinned Debian kernel, builds the static binaries the guest runs, writes
// an initramfs with them, boots it under qemu-system-x86_64 (software
// emulation is enough), and reads the results off the serial console.
// Nothing here needs root on the host.
package qemu

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The guest kernel: one Debian package, pinned by name and version so
// every run boots the same kernel. Debian 12's point-release archive is
// used rather than the security archive, which drops old versions as soon
// as a new one lands. Debian builds these modules uncompressed (.ko), so
// the init loads them with finit_module as they are.
const (
	KernelPackage = "linux-image-6.1.0-47-amd64-unsigned"
	KernelVersion = "6.1.170-3"
)

// kernelRemedy is what to do when the pinned kernel cannot be fetched.
const kernelRemedy = "run `apt-get update` (as root); if apt still cannot find it, the archive has moved on: pick a current linux-image-*-amd64-unsigned from `apt-cache search linux-image` and update KernelPackage/KernelVersion in harness/vm/qemu/kernel.go"

// Kernel is an unpacked kernel package.
type Kernel struct {
	Vmlinuz string // the bootable image
	Modules string // /lib/modules/RELEASE of the package
	Release string // e.g. 6.1.0-47-amd64
}

// FetchKernel returns the pinned kernel, unpacked in cache, downloading
// and unpacking it on first use. deb, when not empty, is a .deb to use
// instead of downloading (for machines without the archive).
func FetchKernel(cache, deb string) (*Kernel, error) {
	dir := filepath.Join(cache, "kernel-"+KernelPackage+"_"+KernelVersion)
	if deb != "" {
		dir = filepath.Join(cache, "kernel-"+strings.TrimSuffix(filepath.Base(deb), ".deb"))
	}
	if k, err := findKernel(dir); err == nil {
		return k, nil
	}
	if deb == "" {
		var err error
		if deb, err = downloadKernel(cache); err != nil {
			return nil, err
		}
	}
	if err := unpackDeb(deb, dir); err != nil {
		return nil, err
	}
	return findKernel(dir)
}

// downloadKernel fetches the pinned .deb into cache with apt-get, which
// needs no root for a download, and returns its path.
func downloadKernel(cache string) (string, error) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", fmt.Errorf("apt-get not found: the QEMU backend fetches its kernel from Debian's archive (or pass --kernel-deb FILE)")
	}
	want := filepath.Join(cache, fmt.Sprintf("%s_%s_amd64.deb", KernelPackage, strings.ReplaceAll(KernelVersion, ":", "%3a")))
	if _, err := os.Stat(want); err == nil {
		return want, nil
	}
	cmd := exec.Command("apt-get", "download", "-q", KernelPackage+"="+KernelVersion)
	cmd.Dir = cache
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("apt-get download %s=%s: %w\n%s\nremedy: %s", KernelPackage, KernelVersion, err, strings.TrimSpace(string(out)), kernelRemedy)
	}
	if _, err := os.Stat(want); err != nil {
		return "", fmt.Errorf("apt-get download did not leave %s: %w", want, err)
	}
	return want, nil
}

// unpackDeb extracts a .deb into dir with dpkg-deb -x (no root needed),
// through a temporary directory so a half-unpacked kernel is never used.
func unpackDeb(deb, dir string) error {
	tmp := dir + ".unpacking"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("unpacking the kernel: %w", err)
	}
	if out, err := exec.Command("dpkg-deb", "-x", deb, tmp).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("dpkg-deb -x %s: %w\n%s", deb, err, strings.TrimSpace(string(out)))
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("unpacking the kernel: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("unpacking the kernel: %w", err)
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
