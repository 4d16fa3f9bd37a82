//go:build linux

package main

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The seccomp filter is a small BPF program the kernel runs on every
// system call the container makes, before the call does anything. It is
// a deny-list: it names the calls a container has no business making and
// lets everything else through. Docker's default profile is an allow-list
// (about 350 calls), which also refuses the calls nobody thought of; it
// is also long, and breaks new programs that use new calls. A deny-list
// of the doors out reads in one screen, which is what a lesson needs,
// and behind it the dropped capabilities and the user namespace still
// stand. Its weak spot is the same as its strength: a new kernel's new
// call passes until it is added here.
//
// Denied calls fail with EPERM, as if a capability were missing, so
// programs take the path they already have for that. clone3 fails with
// ENOSYS instead: the filter cannot read its flags (they are in memory,
// not in registers), and ENOSYS makes the C library and Go fall back to
// clone, whose flags it can read.

// deniedSyscalls are the calls the filter refuses with EPERM.
var deniedSyscalls = []uintptr{
	// the mount table: the old API and the new one
	unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_MOUNT_SETATTR,
	unix.SYS_FSOPEN, unix.SYS_FSCONFIG, unix.SYS_FSMOUNT, unix.SYS_FSPICK, unix.SYS_MOVE_MOUNT, unix.SYS_OPEN_TREE,
	// new namespaces, or other processes' namespaces
	unix.SYS_UNSHARE, unix.SYS_SETNS,
	// the kernel itself: kexec, modules, reboot
	unix.SYS_KEXEC_LOAD, unix.SYS_KEXEC_FILE_LOAD, unix.SYS_INIT_MODULE, unix.SYS_FINIT_MODULE,
	unix.SYS_DELETE_MODULE, unix.SYS_REBOOT,
	// the kernel's keyrings, which are not namespaced
	unix.SYS_KEYCTL, unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY,
	// BPF programs and performance counters, both windows on the whole machine
	unix.SYS_BPF, unix.SYS_PERF_EVENT_OPEN,
	// other processes' memory
	unix.SYS_PTRACE, unix.SYS_PROCESS_VM_READV, unix.SYS_PROCESS_VM_WRITEV,
	// the system clock
	unix.SYS_SETTIMEOFDAY, unix.SYS_CLOCK_SETTIME, unix.SYS_CLOCK_ADJTIME,
	// whole-machine switches: swap, process accounting, the kernel log, quotas
	unix.SYS_SWAPON, unix.SYS_SWAPOFF, unix.SYS_ACCT, unix.SYS_SYSLOG, unix.SYS_QUOTACTL,
	// files by handle, the "shocker" escape from early Docker
	unix.SYS_OPEN_BY_HANDLE_AT,
	// page faults handled by the caller, a favourite of kernel exploits
	unix.SYS_USERFAULTFD,
}

// namespaceFlags are the clone(2) flags that create namespaces.
// (CLONE_NEWTIME is not among them: clone uses that bit for the exit
// signal; only unshare and clone3, both refused, can ask for it.)
const namespaceFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
	unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// Offsets in struct seccomp_data, what the filter reads: the call's
// number, the architecture it was made for, and its arguments.
const (
	offsetNr   = 0
	offsetArch = 4
	offsetArg0 = 16 // the low 32 bits of the first argument, on a little-endian machine
)

// x32Bit marks the calls of amd64's x32 ABI, whose numbers differ.
const x32Bit = 0x40000000

// auditArch is the architecture the filter allows: the one this program
// was built for. Calls made through another (a 32-bit program, int 0x80)
// have other numbers, which a deny-list would not recognise.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	}
	return 0, fmt.Errorf("no seccomp filter for %s: stepbox's filter knows amd64 and arm64", runtime.GOARCH)
}

// BPF instruction helpers: load a word of seccomp_data, compare, return.
func load(offset uint32) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: offset}
}
func jumpIfEqual(k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k, Jt: jt, Jf: jf}
}
func jumpIfAtLeast(k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: k, Jt: jt, Jf: jf}
}
func jumpIfAnyBit(k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: k, Jt: jt, Jf: jf}
}
func ret(k uint32) unix.SockFilter { return unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: k} }

// buildFilter writes the program. Read as:
//
//	if arch != ours: kill the process
//	if nr is an x32 call: EPERM
//	for each denied call: if nr == call: EPERM
//	if nr == clone3: ENOSYS
//	if nr == clone and flags has a namespace flag: EPERM
//	allow
func buildFilter() ([]unix.SockFilter, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	eperm := ret(unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM))
	prog := []unix.SockFilter{
		load(offsetArch),
		jumpIfEqual(arch, 1, 0),
		ret(unix.SECCOMP_RET_KILL_PROCESS),
		load(offsetNr),
		jumpIfAtLeast(x32Bit, 0, 1),
		eperm,
	}
	for _, nr := range deniedSyscalls {
		prog = append(prog, jumpIfEqual(uint32(nr), 0, 1), eperm)
	}
	prog = append(prog,
		jumpIfEqual(unix.SYS_CLONE3, 0, 1),
		ret(unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)),
		jumpIfEqual(unix.SYS_CLONE, 0, 3),
		load(offsetArg0),
		jumpIfAnyBit(namespaceFlags, 0, 1),
		eperm,
		ret(unix.SECCOMP_RET_ALLOW),
	)
	return prog, nil
}

// setNoNewPrivs promises the kernel that nothing this process execs will
// gain privileges: setuid bits and file capabilities stop working. It is
// what lets a process without CAP_SYS_ADMIN install a seccomp filter (a
// filter could otherwise fool a setuid program), and it can never be
// undone. Like the capabilities, it belongs to each thread, but it is
// set on this one alone: the filter's TSYNC, next, gives every other
// thread the filter and this thread's no_new_privs with it (the kernel's
// seccomp_sync_threads), one system call where prctl on every thread is
// a stop of the world (see "Why it is fast").
func setNoNewPrivs() error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("cannot set no_new_privs: %w", err)
	}
	return nil
}

// installSeccomp loads the filter. TSYNC puts it on every thread of this
// process, not only the calling one: Go runs on several threads. It is
// inherited through fork and exec, and can never be removed.
func installSeccomp() error {
	filter, err := buildFilter()
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("cannot install the seccomp filter: %w", errno)
	}
	return nil
}
