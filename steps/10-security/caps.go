//go:build linux

package main

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Capabilities split root's power into pieces. In its user namespace the
// container's root holds all of them, and with them the power to mount,
// to reconfigure its network, to trace, to bypass file permissions. Step
// 10 keeps a small default set, Docker's list without MKNOD and
// AUDIT_WRITE (in a user namespace the kernel never honours a device node
// the container makes, nor lets it write the audit log), and drops the
// rest from all five sets a process has:
//
//   - bounding: the ceiling. Dropped from it, a capability can never come
//     back, not through exec, not through a setuid file.
//   - permitted: what the process may turn on.
//   - effective: what the kernel checks right now.
//   - inheritable: what may pass through exec to a file that asks for it.
//   - ambient: what passes through exec to any program.
//
// The order matters: dropping from the bounding set needs CAP_SETPCAP, so
// it comes first, while the child still has every capability; capset
// then lowers the other sets. uid 0 execing a program gets its permitted
// set back from the bounding and inheritable sets (a root process is
// treated as if every file had every file capability): only
// no_new_privs (seccomp.go) and the bounding set stop that, so the
// bounding set must be as small as the rest.

// defaultCaps are the capabilities a container keeps unless told otherwise.
var defaultCaps = []string{
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID",
	"SETPCAP", "SETFCAP", "NET_BIND_SERVICE", "NET_RAW", "SYS_CHROOT",
}

// capNumbers maps each capability's name, without "CAP_", to its number.
var capNumbers = map[string]int{
	"CHOWN": unix.CAP_CHOWN, "DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE, "DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH,
	"FOWNER": unix.CAP_FOWNER, "FSETID": unix.CAP_FSETID, "KILL": unix.CAP_KILL, "SETGID": unix.CAP_SETGID,
	"SETUID": unix.CAP_SETUID, "SETPCAP": unix.CAP_SETPCAP, "LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE,
	"NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "NET_BROADCAST": unix.CAP_NET_BROADCAST,
	"NET_ADMIN": unix.CAP_NET_ADMIN, "NET_RAW": unix.CAP_NET_RAW, "IPC_LOCK": unix.CAP_IPC_LOCK,
	"IPC_OWNER": unix.CAP_IPC_OWNER, "SYS_MODULE": unix.CAP_SYS_MODULE, "SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"SYS_CHROOT": unix.CAP_SYS_CHROOT, "SYS_PTRACE": unix.CAP_SYS_PTRACE, "SYS_PACCT": unix.CAP_SYS_PACCT,
	"SYS_ADMIN": unix.CAP_SYS_ADMIN, "SYS_BOOT": unix.CAP_SYS_BOOT, "SYS_NICE": unix.CAP_SYS_NICE,
	"SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "SYS_TIME": unix.CAP_SYS_TIME, "SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG,
	"MKNOD": unix.CAP_MKNOD, "LEASE": unix.CAP_LEASE, "AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "SETFCAP": unix.CAP_SETFCAP, "MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE,
	"MAC_ADMIN": unix.CAP_MAC_ADMIN, "SYSLOG": unix.CAP_SYSLOG, "WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "AUDIT_READ": unix.CAP_AUDIT_READ, "PERFMON": unix.CAP_PERFMON,
	"BPF": unix.CAP_BPF, "CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// capList is a repeatable, comma-separated --cap-add or --cap-drop flag.
type capList []string

func (l *capList) String() string { return strings.Join(*l, ",") }

// Set takes "NET_ADMIN", "cap_net_admin" or "ALL", one or several.
func (l *capList) Set(value string) error {
	for _, name := range strings.Split(value, ",") {
		name = strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(name)), "CAP_")
		if name == "" {
			continue // the child gets "--cap-add=" when there are none
		}
		if _, ok := capNumbers[name]; !ok && name != "ALL" {
			return fmt.Errorf("unknown capability %q (names like NET_ADMIN, or ALL)", name)
		}
		*l = append(*l, name)
	}
	return nil
}

// keptCaps is the set the container keeps, as a bit mask: the defaults,
// less --cap-drop, plus --cap-add. "ALL" in either means every one.
func keptCaps(add, drop capList) uint64 {
	var mask uint64
	if !slices.Contains(drop, "ALL") {
		for _, name := range defaultCaps {
			mask |= 1 << capNumbers[name]
		}
	}
	for _, name := range drop {
		if name != "ALL" {
			mask &^= 1 << capNumbers[name]
		}
	}
	for _, name := range add {
		if name == "ALL" {
			mask = 1<<(unix.CAP_LAST_CAP+1) - 1
		} else {
			mask |= 1 << capNumbers[name]
		}
	}
	return mask
}

// lastCap is the highest capability this kernel knows. Dropping one it
// does not know from the bounding set fails with EINVAL.
func lastCap() (int, error) {
	data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("cannot read the kernel's last capability: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(data)))
}

// dropBoundingSet removes every capability not in keep from the bounding
// set, for good: no exec, no setuid or file-capability program can bring
// it back. It needs CAP_SETPCAP, so it runs before capset lowers the rest.
// It acts on the calling thread alone, which must be the one every
// process of the container is forked from (starter.go).
func dropBoundingSet(keep uint64) error {
	last, err := lastCap()
	if err != nil {
		return err
	}
	for c := 0; c <= last; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("cannot drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// setCaps makes keep the effective, permitted and inheritable sets of
// every thread (capset(2) acts on the calling thread only).
func setCaps(keep uint64) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	low, high := uint32(keep), uint32(keep>>32)
	data := [2]unix.CapUserData{
		{Effective: low, Permitted: low, Inheritable: low},
		{Effective: high, Permitted: high, Inheritable: high},
	}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return fmt.Errorf("cannot set the capabilities: %w", err)
	}
	return nil
}
