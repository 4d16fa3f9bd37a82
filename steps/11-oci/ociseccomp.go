//go:build linux

package main

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// linux.seccomp is a profile (Docker's default is one), not a program:
// a default action, and rules "these calls, maybe with these argument
// values, get that action". runc hands it to libseccomp, in C. stepbox
// compiles it with step 10's BPF helpers into one straight program:
//
//	if arch != ours: kill the process
//	if nr is an x32 call (amd64): the default action
//	for each rule, for each call it names:
//	    if nr == call and every argument condition holds: the rule's action
//	the default action
//
// Names this architecture lacks are skipped, as libseccomp does, so one
// profile serves amd64 and arm64. The syscall table is generated from
// x/sys/unix's constants (ocisyscalls_linux_*.go).

// actionCode is a rule's action as seccomp's return value.
func actionCode(a specs.LinuxSeccompAction) (uint32, error) {
	switch a {
	case specs.ActKill:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case "SCMP_ACT_KILL_PROCESS":
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case "SCMP_ACT_KILL_THREAD":
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM), nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | uint32(unix.EPERM), nil
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	}
	return 0, fmt.Errorf("unknown seccomp action %q", a)
}

// compileSeccomp turns the profile into a BPF program.
func compileSeccomp(s *specs.LinuxSeccomp) ([]unix.SockFilter, error) {
	arch, err := auditArch()
	if err != nil {
		return nil, err
	}
	def, err := actionCode(s.DefaultAction)
	if err != nil {
		return nil, err
	}
	prog := []unix.SockFilter{
		load(offsetArch), jumpIfEqual(arch, 1, 0), ret(unix.SECCOMP_RET_KILL_PROCESS),
		load(offsetNr), jumpIfAtLeast(x32Bit, 0, 1), ret(def),
	}
	for _, rule := range s.Syscalls {
		action, err := actionCode(rule.Action)
		if err != nil {
			return nil, err
		}
		for _, name := range rule.Names {
			nr, ok := syscallNumbers[name]
			if !ok {
				continue
			}
			block, err := ruleBlock(uint32(nr), rule.Args, action)
			if err != nil {
				return nil, fmt.Errorf("seccomp rule for %s: %w", name, err)
			}
			prog = append(prog, block...)
		}
	}
	prog = append(prog, ret(def))
	if len(prog) > 4096 {
		return nil, fmt.Errorf("the seccomp profile compiles to %d instructions, more than the kernel's 4096", len(prog))
	}
	return prog, nil
}

// ruleBlock is one call's rule. Without conditions: "if nr == call,
// return action". With them, each condition jumps to the block's end on
// failure, where nr is loaded again for the next rule.
func ruleBlock(nr uint32, args []specs.LinuxSeccompArg, action uint32) ([]unix.SockFilter, error) {
	if len(args) == 0 {
		return []unix.SockFilter{jumpIfEqual(nr, 0, 1), ret(action)}, nil
	}
	var conds []jump
	for _, a := range args {
		c, err := condition(a)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c...)
	}
	// Layout: [jeq nr] conds... [ret action] [END: load nr]
	n := 1 + len(conds) + 1
	block := []unix.SockFilter{jumpIfEqual(nr, 0, uint8(n-1))}
	for i, c := range conds {
		at := 1 + i
		block = append(block, c.resolve(at, n))
	}
	return append(block, ret(action), load(offsetNr)), nil
}

// Jump targets inside a condition: the next instruction, the start of
// the next condition (ok), or the block's end (fail).
const (
	next = iota
	ok
	fail
)

// jump is a BPF instruction whose jumps name targets, not offsets.
type jump struct {
	f      unix.SockFilter
	jt, jf int
	toOK   int // for a condition, how far "ok" is from this instruction
}

// resolve turns targets into offsets, for an instruction at index at
// of a block whose end is at index end.
func (j jump) resolve(at, end int) unix.SockFilter {
	offset := func(target int) uint8 {
		switch target {
		case ok:
			return uint8(j.toOK - 1)
		case fail:
			return uint8(end - at - 1)
		}
		return 0
	}
	f := j.f
	if f.Code&0x07 == unix.BPF_JMP { // the instruction's class
		f.Jt, f.Jf = offset(j.jt), offset(j.jf)
	}
	return f
}

// argOffsets are where argument i's low and high 32 bits are in
// seccomp_data, on a little-endian machine (amd64, arm64).
func argOffsets(i uint) (lo, hi uint32) {
	return uint32(offsetArg0 + 8*i), uint32(offsetArg0 + 8*i + 4)
}

// condition compiles one argument comparison, 64 bits as two 32-bit
// halves: the high halves decide unless they are equal.
func condition(a specs.LinuxSeccompArg) ([]jump, error) {
	if a.Index > 5 {
		return nil, fmt.Errorf("argument index %d: calls have 6 arguments", a.Index)
	}
	lo, hi := argOffsets(a.Index)
	v, w := a.Value, a.ValueTwo
	vlo, vhi := uint32(v), uint32(v>>32)
	ld := func(off uint32) jump { return jump{f: load(off)} }
	j := func(code uint16, k uint32, jt, jf int) jump {
		return jump{f: unix.SockFilter{Code: unix.BPF_JMP | code | unix.BPF_K, K: k}, jt: jt, jf: jf}
	}
	and := func(k uint32) jump {
		return jump{f: unix.SockFilter{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: k}}
	}
	var list []jump
	switch a.Op {
	case specs.OpEqualTo:
		list = []jump{ld(hi), j(unix.BPF_JEQ, vhi, next, fail), ld(lo), j(unix.BPF_JEQ, vlo, ok, fail)}
	case specs.OpNotEqual:
		list = []jump{ld(hi), j(unix.BPF_JEQ, vhi, next, ok), ld(lo), j(unix.BPF_JEQ, vlo, fail, ok)}
	case specs.OpMaskedEqual:
		list = []jump{ld(hi), and(vhi), j(unix.BPF_JEQ, uint32(w>>32), next, fail), ld(lo), and(vlo), j(unix.BPF_JEQ, uint32(w), ok, fail)}
	case specs.OpGreaterThan, specs.OpGreaterEqual:
		low := uint16(unix.BPF_JGT)
		if a.Op == specs.OpGreaterEqual {
			low = unix.BPF_JGE
		}
		list = []jump{ld(hi), j(unix.BPF_JGT, vhi, ok, next), j(unix.BPF_JEQ, vhi, next, fail), ld(lo), j(low, vlo, ok, fail)}
	case specs.OpLessThan, specs.OpLessEqual:
		low, hit, miss := uint16(unix.BPF_JGE), fail, ok // lo < v: not (lo >= v)
		if a.Op == specs.OpLessEqual {
			low = unix.BPF_JGT
		}
		list = []jump{ld(hi), j(unix.BPF_JGT, vhi, fail, next), j(unix.BPF_JEQ, vhi, next, ok), ld(lo), j(low, vlo, hit, miss)}
	default:
		return nil, fmt.Errorf("unknown seccomp operator %q", a.Op)
	}
	for i := range list {
		list[i].toOK = len(list) - i
	}
	return list, nil
}

// installSpecSeccomp compiles and loads the profile, on every thread.
func installSpecSeccomp(s *specs.LinuxSeccomp) error {
	filter, err := compileSeccomp(s)
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		return fmt.Errorf("cannot install linux.seccomp: %w", errno)
	}
	return nil
}
