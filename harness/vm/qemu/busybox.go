package qemu

import (
	"debug/elf"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/fsutil"
)

// FetchBusybox returns a static busybox for the guest: the host's own
// (busybox-static, engine.FindBusybox) when the guest has the host's
// architecture, else the pinned busybox-static of the guest's, fetched
// through a private apt and unpacked in cache. Either way it must be
// static and built for the guest.
func FetchBusybox(cache string, a Arch) (string, error) {
	var path string
	if a.GOARCH == runtime.GOARCH {
		p, err := engine.FindBusybox()
		if err != nil {
			return "", err
		}
		path = p
	} else {
		dir := filepath.Join(cache, "busybox-"+strings.TrimSuffix(a.Busybox.File(), ".deb"))
		path = filepath.Join(dir, "bin", "busybox")
		if static, err := fsutil.IsStatic(path); err != nil || !static {
			deb, err := fetchDeb(cache, a.Busybox)
			if err != nil {
				return "", err
			}
			if err := unpackDeb(deb, dir); err != nil {
				return "", err
			}
		}
	}
	if err := requireMachine(path, a.GOARCH); err != nil {
		return "", err
	}
	return path, requireStatic(path)
}

// elfMachines are the ELF machine of each guest architecture.
var elfMachines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// requireMachine refuses a binary built for another architecture than
// goarch's: in the guest it would fail with a bare "exec format error".
func requireMachine(path, goarch string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if want := elfMachines[goarch]; f.Machine != want {
		return fmt.Errorf("%s is built for %v, the %s guest needs %v", path, f.Machine, goarch, want)
	}
	return nil
}
