package qemu

import (
	"fmt"
	"sort"
	"strings"
)

// Deb pins one Debian package: name, version and architecture, so every
// run boots the same kernel and puts the same busybox in the guest.
type Deb struct {
	Package string
	Version string
	Arch    string // Debian's name: amd64, arm64
}

// File is the name apt-get download gives the .deb (":" as %3a).
func (d Deb) File() string {
	return fmt.Sprintf("%s_%s_%s.deb", d.Package, strings.ReplaceAll(d.Version, ":", "%3a"), d.Arch)
}

func (d Deb) String() string { return d.Package + "=" + d.Version + " (" + d.Arch + ")" }

// Arch is one guest architecture: its kernel, its emulator and machine,
// and where its console is.
type Arch struct {
	GOARCH      string // also Debian's architecture name
	Qemu        string // the emulator binary
	QemuPackage string // the Debian package that has it
	Machine     string // qemu's -machine, without the accel
	CPU         string // qemu's -cpu
	TCGCPUOpts  string // added to CPU under software emulation only
	Console     string // the kernel's serial console device
	Kernel      Deb
	// Busybox is the busybox-static package for a guest whose binaries
	// the host cannot run; for the host's own architecture the host's
	// busybox-static is used (engine.FindBusybox).
	Busybox Deb
}

// The guest kernels: Debian 12's, pinned by name and version. Debian 12's
// point-release archive is used rather than the security archive, which
// drops old versions as soon as a new one lands. Debian builds these
// modules uncompressed (.ko), so the init loads them as they are.
var arches = map[string]Arch{
	"amd64": {
		GOARCH: "amd64", Qemu: "qemu-system-x86_64", QemuPackage: "qemu-system-x86",
		Machine: "pc", CPU: "max", Console: "ttyS0",
		Kernel:  Deb{"linux-image-6.1.0-47-amd64-unsigned", "6.1.170-3", "amd64"},
		Busybox: Deb{"busybox-static", "1:1.35.0-4+deb12u1+b1", "amd64"},
	},
	// arm64: the "virt" board, whose first serial port is a PL011
	// (ttyAMA0). -cpu max emulates every feature qemu knows; under TCG its
	// pointer authentication uses qemu's own cheap algorithm (pauth-impdef)
	// instead of the architected QARMA, which under emulation costs more
	// than the rest of the CPU together (KVM refuses the option).
	"arm64": {
		GOARCH: "arm64", Qemu: "qemu-system-aarch64", QemuPackage: "qemu-system-arm",
		Machine: "virt", CPU: "max", TCGCPUOpts: "pauth-impdef=on", Console: "ttyAMA0",
		Kernel:  Deb{"linux-image-6.1.0-47-arm64-unsigned", "6.1.170-3", "arm64"},
		Busybox: Deb{"busybox-static", "1:1.35.0-4+deb12u1+b1", "arm64"},
	},
}

// LookArch returns the guest architecture named by its GOARCH.
func LookArch(goarch string) (Arch, error) {
	a, ok := arches[goarch]
	if !ok {
		return Arch{}, fmt.Errorf("no QEMU guest for %q: the guests are %s", goarch, strings.Join(ArchNames(), ", "))
	}
	return a, nil
}

// ArchNames lists the guest architectures.
func ArchNames() []string {
	var names []string
	for n := range arches {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// KernelCmdline sends the console to the first serial port, keeps the
// boot quiet, and makes a panic reboot at once, which -no-reboot turns
// into qemu exiting: a crashed guest ends the run instead of hanging it.
func (a Arch) KernelCmdline() string {
	return "console=" + a.Console + " panic=-1 quiet"
}
