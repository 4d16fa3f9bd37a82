package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// Step 03: PID, mount and IPC namespaces.
var step03 = Step{
	N: 3,
	Todos: []Todo{
		{Anchor: "Cloneflags: unix.CLONE_NEWUTS,",
			Text: "the child also needs PID, mount and IPC namespaces of its own: the command must be PID 1, with its own mount table and IPC objects."},
		{Anchor: "func setupContainer(cfg config) error {", After: true,
			Text: "mounts made in the container must never appear on the host (on most hosts / is a shared mount), and /proc must list only the container's processes."},
	},
	Checks: []Check{
		{
			ID: "pid.one", Step: 3,
			Proves: "the command is PID 1 in its namespace",
			Hints: [...]string{
				"Inside, the command should see itself as PID 1, the init of its own PID namespace.",
				"Add unix.CLONE_NEWPID to Cloneflags; the child is then PID 1, and the command becomes PID 1 when the child execs it.",
				"If the child starts the command (exec.Command.Run) instead of exec'ing it, the command is PID 2: the article's mistake.",
			},
			Mutants: []Mutant{
				{"pid.one", 3, "forgets CLONE_NEWPID",
					[]Edit{{"unix.CLONE_NEWPID |", "0 |", ""}}},
			},
			Run: checkPIDOne,
		},
		{
			ID: "pid.ns_new", Step: 3,
			Proves: "the container has its own PID namespace",
			Hints: [...]string{
				"/proc/self/ns/pid inside must differ from the host's.",
				"Add unix.CLONE_NEWPID to Cloneflags.",
				"unshare(CLONE_NEWPID) does not move the caller, only its future children: with re-exec, Cloneflags on the child is the simple way.",
			},
			Mutants: []Mutant{
				{"pid.ns_new", 3, "forgets CLONE_NEWPID",
					[]Edit{{"unix.CLONE_NEWPID |", "0 |", ""}}},
			},
			Run: newNamespace("pid"),
		},
		{
			ID: "proc.only_container", Step: 3,
			Proves: "/proc lists only the container's processes",
			Hints: [...]string{
				"ps inside must list only the container's processes. What does ps read, and whose processes does it describe?",
				"In the child, mount a new proc: unix.Mount(\"proc\", \"/proc\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, \"\"), after the PID namespace exists and after / is private.",
				"The inherited /proc describes the host's PID namespace until a proc is mounted from inside the new one; mounting it from the parent gives the host's view again.",
			},
			Mutants: []Mutant{
				{"proc.only_container", 3, "does not mount a fresh /proc",
					[]Edit{dropCall("mountProc()")}},
			},
			Run: checkProcOnlyContainer,
		},
		{
			ID: "mnt.ns_new", Step: 3,
			Proves: "the container has its own mount namespace",
			Hints: [...]string{
				"/proc/self/ns/mnt inside must differ from the host's: the container needs its own mount table before it mounts anything.",
				"Add unix.CLONE_NEWNS to Cloneflags.",
				"Without it, every mount the child makes (/proc, the rootfs) lands in the host's mount table.",
			},
			Mutants: []Mutant{
				{"mnt.ns_new", 3, "forgets CLONE_NEWNS",
					[]Edit{{"unix.CLONE_NEWNS |", "0 |", ""}}},
			},
			Run: newNamespace("mnt"),
		},
		{
			ID: "mnt.no_leak", Step: 3,
			Proves: "mounts made inside never appear outside",
			Hints: [...]string{
				"A mount made inside the container must not appear on the host. A new mount namespace is a copy of the host's table: is the copy still linked to the original?",
				"First thing in the child, before any mount: unix.Mount(\"\", \"/\", \"\", unix.MS_REC|unix.MS_PRIVATE, \"\").",
				"On systemd hosts / is shared, so the copy stays in the host's peer group and mounts propagate back; the article never makes anything private. If /proc leaked on your host, `sudo umount /proc` until `findmnt /proc` shows one.",
			},
			Mutants: []Mutant{
				{"mnt.no_leak", 3, "mounts /proc without first making / private",
					[]Edit{dropCall("makeMountsPrivate()")}},
			},
			Run: checkMountsNoLeak,
		},
		{
			ID: "ipc.ns_new", Step: 3,
			Proves: "the container has its own IPC namespace",
			Hints: [...]string{
				"/proc/self/ns/ipc inside must differ from the host's.",
				"Add unix.CLONE_NEWIPC to Cloneflags.",
				"It is easy to forget because nothing visibly breaks: `ipcs` inside would list the host's shared memory and message queues.",
			},
			Mutants: []Mutant{
				{"ipc.ns_new", 3, "forgets CLONE_NEWIPC",
					[]Edit{{"unix.CLONE_NEWIPC,", "0,", ""}}},
			},
			Run: newNamespace("ipc"),
		},
	},
}

func checkPIDOne(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if res.Report.PID != 1 {
		return fail("the command to be PID 1", "PID %d", res.Report.PID)
	}
	return pass()
}

func checkProcOnlyContainer(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	pids := res.Report.ProcPIDs
	if !slices.Contains(pids, 1) || len(pids) > 2 {
		return fail("/proc to list only the container's processes (PID 1)", "%d processes: %s", len(pids), shortInts(pids, 10))
	}
	return pass()
}

// checkMountsNoLeak: the runtime's sandbox has a shared /, so a mount made
// in a namespace that is not private appears outside too.
func checkMountsNoLeak(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	extra := engine.MultisetMinus(res.Witness.After.Mounts, res.Witness.Before.Mounts)
	if len(extra) > 0 {
		return fail("no new mounts outside the container", "%s", strings.Join(extra, "; "))
	}
	return pass()
}

func shortInts(xs []int, n int) string {
	s := fmt.Sprint(xs[:min(n, len(xs))])
	if len(xs) > n {
		s = strings.TrimSuffix(s, "]") + " ...]"
	}
	return s
}
