//go:build linux

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// finalize is the init's last work before execve: who the process is
// and what it may do. The order is step 10's, with the user in it:
//
//  1. a seccomp filter without no_new_privs goes first, while
//     CAP_SYS_ADMIN still allows it;
//  2. the bounding set, while CAP_SETPCAP is held;
//  3. keep the permitted set through setuid (PR_SET_KEEPCAPS), then
//     the groups, the gid, the uid;
//  4. effective, permitted, inheritable, then ambient;
//  5. no_new_privs and, with it, the filter last.
func finalize(spec *specs.Spec) error {
	p := spec.Process
	unix.Umask(int(umaskOf(p.User)))
	nnp := p.NoNewPrivileges
	if spec.Linux.Seccomp != nil && !nnp {
		if err := installSpecSeccomp(spec.Linux.Seccomp); err != nil {
			return err
		}
	}
	if p.Capabilities != nil {
		if err := dropBoundingSet(capMask(p.Capabilities.Bounding)); err != nil {
			return err
		}
		if err := prctlAllThreads(unix.PR_SET_KEEPCAPS, 1, 0); err != nil {
			return err
		}
	}
	if err := setUser(p.User); err != nil {
		return err
	}
	if p.Capabilities != nil {
		if err := setCapSets(p.Capabilities); err != nil {
			return err
		}
	}
	if nnp {
		if err := setNoNewPrivs(); err != nil {
			return err
		}
		if spec.Linux.Seccomp != nil {
			return installSpecSeccomp(spec.Linux.Seccomp)
		}
	}
	return nil
}

// umaskOf is the user's umask, 0022 when the spec gives none.
func umaskOf(u specs.User) uint32 {
	if u.Umask == 0 {
		return 0o022
	}
	return u.Umask
}

// setUser becomes process.user: groups first, while still root, then
// the gid, then the uid. It changes the calling thread alone, with raw
// system calls: both callers (the init and exec's process) run on one
// locked thread and execve from it, which keeps that thread only, so
// the others, which start nothing, need not follow. Go's unix.Setresuid
// and the rest act on every thread instead, and each such call stops
// the world and signals every thread: 2.4 ms for the first one, in the
// init of a bench run, on the way from "start" to the program.
func setUser(u specs.User) error {
	groups := u.AdditionalGids // gid_t is 32 bits, as the spec's
	var list unsafe.Pointer    // NULL for none
	if len(groups) > 0 {
		list = unsafe.Pointer(&groups[0])
	}
	if err := threadCall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(list), 0); err != nil {
		return fmt.Errorf("cannot set process.user.additionalGids %v: %w", u.AdditionalGids, err)
	}
	gid, uid := uintptr(u.GID), uintptr(u.UID)
	if err := threadCall(unix.SYS_SETRESGID, gid, gid, gid); err != nil {
		return fmt.Errorf("cannot set process.user.gid %d: %w", u.GID, err)
	}
	if err := threadCall(unix.SYS_SETRESUID, uid, uid, uid); err != nil {
		return fmt.Errorf("cannot set process.user.uid %d: %w", u.UID, err)
	}
	return nil
}

// threadCall is a system call on the calling thread only.
func threadCall(trap, a1, a2, a3 uintptr) error {
	if _, _, errno := unix.RawSyscall(trap, a1, a2, a3); errno != 0 {
		return errno
	}
	return nil
}

// capMask turns the spec's names ("CAP_NET_RAW") into a bit mask.
// Names this kernel or this program does not know are skipped, as runc
// does, so a config written for a newer kernel still runs: capset(2)
// refuses (EPERM) a bit above the kernel's last capability.
func capMask(names []string) uint64 {
	last, err := lastCap()
	if err != nil {
		last = 63
	}
	var mask uint64
	for _, name := range names {
		if n, ok := capNumbers[strings.TrimPrefix(strings.ToUpper(name), "CAP_")]; ok && n <= last {
			mask |= 1 << n
		}
	}
	return mask
}

// setCapSets sets the effective, permitted and inheritable sets on
// every thread, then raises the ambient ones.
func setCapSets(c *specs.LinuxCapabilities) error {
	eff, perm, inh := capMask(c.Effective), capMask(c.Permitted), capMask(c.Inheritable)
	if have, err := permittedCaps(); err == nil && (perm|eff|inh)&^have != 0 {
		// A process can never gain a capability its parent lacks
		// (capset says EPERM): run with those it can have, and say so.
		ociWarn("process.capabilities asks for %#x, which this runtime does not hold itself: left out", (perm|eff|inh)&^have)
		eff, perm, inh = eff&have, perm&have, inh&have
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(eff), Permitted: uint32(perm), Inheritable: uint32(inh)},
		{Effective: uint32(eff >> 32), Permitted: uint32(perm >> 32), Inheritable: uint32(inh >> 32)},
	}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return fmt.Errorf("cannot set the capabilities of process.capabilities: %w", err)
	}
	if err := clearAmbientCaps(); err != nil {
		return err
	}
	amb := capMask(c.Ambient) & perm & inh // the kernel's rule for ambient capabilities
	for n := range 64 {
		if amb&(1<<n) == 0 {
			continue
		}
		// Raising an ambient capability needs it permitted and
		// inheritable; the spec leaves that to the config's author.
		if err := prctlAllThreads(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(n)); err != nil {
			return fmt.Errorf("cannot raise ambient capability %d: %w", n, err)
		}
	}
	return nil
}

// rlimitNames maps the spec's names to setrlimit(2) resources.
var rlimitNames = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_STACK": unix.RLIMIT_STACK,
}

// setRlimits sets process.rlimits on this process: limits belong to the
// process and pass through execve. Raising a hard limit needs
// CAP_SYS_RESOURCE, which the init still has.
func setRlimits(limits []specs.POSIXRlimit) error {
	for _, l := range limits {
		res, ok := rlimitNames[l.Type]
		if !ok {
			return fmt.Errorf("unknown rlimit %q in process.rlimits", l.Type)
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return fmt.Errorf("cannot set %s to %d:%d: %w", l.Type, l.Soft, l.Hard, err)
		}
	}
	return nil
}

// setOOMScoreAdj tells the kernel's out-of-memory killer how much to
// prefer this process (and what it execs) as a victim.
func setOOMScoreAdj(adj *int) error {
	if adj == nil {
		return nil
	}
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*adj)), 0o644); err != nil {
		return fmt.Errorf("cannot set process.oomScoreAdj %d: %w", *adj, err)
	}
	return nil
}

// writeSysctls writes linux.sysctl, "net.ipv4.ip_forward" to
// /proc/sys/net/ipv4/ip_forward. The kernel only lets a container change
// the sysctls of its own namespaces (net.*, kernel.hostname, ...).
func writeSysctls(sysctls map[string]string) error {
	for key, value := range sysctls {
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("cannot set sysctl %s=%s: %w", key, value, err)
		}
	}
	return nil
}

// permittedCaps is this thread's permitted set, from capget(2).
func permittedCaps() (uint64, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return 0, fmt.Errorf("cannot read this process's capabilities: %w", err)
	}
	return uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32, nil
}
