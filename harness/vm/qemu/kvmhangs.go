package qemu

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KVMHangsFile, in the VM cache, records that /dev/kvm opened but a guest
// under KVM never reached its init (seen nested in another VM: the guest
// hangs after its firmware). It holds the host's boot ID, so it speaks
// for this boot of the host only: later runs go straight to software
// emulation instead of finding out again, and a reboot (or removing the
// file) tries KVM afresh. .ci/vagrant-inside.sh reads it too.
const KVMHangsFile = "kvm-hangs"

// bootIDFile changes on every boot of the host.
const bootIDFile = "/proc/sys/kernel/random/boot_id"

// kvmHung says whether the file in cache records a KVM that hung in this
// boot of the host, and gives the file's path.
func kvmHung(cache string) (string, bool) {
	path := filepath.Join(cache, KVMHangsFile)
	recorded, err := os.ReadFile(path)
	if err != nil {
		return path, false
	}
	id, err := os.ReadFile(bootIDFile)
	return path, err == nil && strings.TrimSpace(string(recorded)) == strings.TrimSpace(string(id))
}

// recordKVMHung writes this boot's ID to the file in cache.
func recordKVMHung(cache string) error {
	id, err := os.ReadFile(bootIDFile)
	if err != nil {
		return fmt.Errorf("recording that KVM hung: %w", err)
	}
	return os.WriteFile(filepath.Join(cache, KVMHangsFile), id, 0o644)
}
