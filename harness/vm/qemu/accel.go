package qemu

import (
	"fmt"
	"os"
	"runtime"
)

// AccelEnv forces qemu's accelerator: "tcg" (software emulation, which
// keeps the slow path tested on a machine with KVM) or "kvm" (fail rather
// than fall back). Unset, KVM is used when it can be.
const AccelEnv = "STEPBOX_QEMU_ACCEL"

// devKVM is the device qemu opens for KVM.
const devKVM = "/dev/kvm"

// Accel is the accelerator a run uses, and why.
type Accel struct {
	Name string // "kvm" or "tcg", as qemu's accel= spells it
	Why  string
}

// String is how the run's log names it: "KVM (/dev/kvm opens read-write)".
func (a Accel) String() string {
	name := map[string]string{"kvm": "KVM", "tcg": "TCG"}[a.Name]
	return fmt.Sprintf("%s (%s)", name, a.Why)
}

// ChooseAccel picks the accelerator for a guest of goarch on this host,
// from $STEPBOX_QEMU_ACCEL and whether /dev/kvm opens read-write, which
// is what qemu needs (the file existing is not enough: it may be
// root-only).
func ChooseAccel(goarch string) (Accel, error) {
	return chooseAccel(os.Getenv(AccelEnv), goarch, runtime.GOARCH, openKVM)
}

// openKVM opens /dev/kvm as qemu will, and closes it again.
func openKVM() error {
	f, err := os.OpenFile(devKVM, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// chooseAccel is the decision, with the host's facts passed in: force is
// $STEPBOX_QEMU_ACCEL, and kvm tries /dev/kvm (called only when KVM is
// possible at all).
func chooseAccel(force, guest, host string, kvm func() error) (Accel, error) {
	sameArch := guest == host
	switch force {
	case "tcg":
		return Accel{"tcg", AccelEnv + "=tcg"}, nil
	case "kvm":
		if !sameArch {
			return Accel{}, fmt.Errorf("%s=kvm: KVM runs only the host's own architecture (%s), not an %s guest", AccelEnv, host, guest)
		}
		if err := kvm(); err != nil {
			return Accel{}, fmt.Errorf("%s=kvm: %w", AccelEnv, err)
		}
		return Accel{"kvm", AccelEnv + "=kvm"}, nil
	case "":
	default:
		return Accel{}, fmt.Errorf("%s=%q: want tcg, kvm, or unset (KVM when it works)", AccelEnv, force)
	}
	if !sameArch {
		return Accel{"tcg", fmt.Sprintf("an %s guest on an %s host: KVM runs only the host's own architecture", guest, host)}, nil
	}
	if err := kvm(); err != nil {
		return Accel{"tcg", fmt.Sprintf("no KVM: %v", err)}, nil
	}
	return Accel{"kvm", devKVM + " opens read-write"}, nil
}
