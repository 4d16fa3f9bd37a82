package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 05: cgroup CPU quota.
var step05 = Step{
	N: 5,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --cpus N (default 0.5), the container's CPU quota: a number from 0.01 to the number of CPUs; anything else exits 2 with one line, before anything is created. Hand it on to the child."},
		{Anchor: "if err := startChild(cmd); err != nil {",
			Text: "each container gets a cgroup of its own that limits it to --cpus of CPU. The child, never the runtime, must be in it before the command can run, and the cgroup must be gone when the container ends, however it ends."},
		{Anchor: "func child(args []string) int {", After: true,
			Text: "the command must not start before the parent has put this process in its cgroup."},
	},
	Checks: []Check{
		{
			ID: "cgroup.quota_written", Step: 5,
			Proves: "the container's cgroup has the quota --cpus asks for",
			Hints: [...]string{
				"While the container runs, its cgroup must hold the quota --cpus asks for. Is there a cgroup of its own, and what did you write into it?",
				"cgroup v2: write \"QUOTA 100000\" to cpu.max, QUOTA = cpus*100000; v1: 100000 to cpu.cfs_period_us and QUOTA to cpu.cfs_quota_us. Detect which from /proc/self/mountinfo.",
				"The article hard-codes v1 paths (most distributions are v2 now), and Go's SysProcAttr has no Cgroup field: its snippet does not compile.",
			},
			Mutants: []Mutant{
				{"cgroup.quota_written", 5, "never writes the quota",
					[]Edit{dropCall("cg.setCPUQuota(cfg.cpus)")}},
			},
			Run: checkQuotaWritten,
		},
		{
			ID: "cgroup.enforced", Step: 5,
			Proves: "a CPU-burning command gets only about --cpus worth of CPU",
			Hints: [...]string{
				"A command burning CPU inside must get only about --cpus worth. Is the command itself in the cgroup with the quota, from its very first instruction?",
				"Put the child in the cgroup before it may exec: write its PID to cgroup.procs from the parent (the reference on v2), or, on v1, send it the open tasks file and have every thread write 0 to it (the reference, faster); then release it (a byte on the socket it waits on).",
				"The article writes its own PID (os.Getpid) to tasks: the runtime is limited, not the container. And v1's tasks file moves one thread, the writer's with 0: a Go program has several.",
			},
			Mutants: []Mutant{
				{"cgroup.enforced", 5, "never moves the child into the cgroup",
					[]Edit{{"return cg.moveIn(cmd.Process.Pid)", "return nil", ""}}},
			},
			Run: checkQuotaEnforced,
		},
		{
			ID: "cgroup.removed", Step: 5,
			Proves: "the container's cgroup is gone after it exits",
			Hints: [...]string{
				"After stepbox exits, however the container ended, its cgroup directory must be gone.",
				"os.Remove (rmdir(2)) the cgroup after cmd.Wait returns, on every path, failures included; retry briefly on EBUSY.",
				"rmdir fails with `device or resource busy` while any process is inside: with the article's `write my own PID`, the runtime itself is.",
			},
			Mutants: []Mutant{
				{"cgroup.removed", 5, "never removes the cgroup",
					[]Edit{{"if removeErr := cg.remove(); removeErr", "if removeErr := error(nil); removeErr", ""}}},
			},
			Run: checkCgroupRemoved,
		},
		{
			ID: "cgroup.separate", Step: 5,
			Proves: "two containers at once get separate cgroups",
			Hints: [...]string{
				"Two containers running at the same time must each have a cgroup of their own.",
				"Name each cgroup uniquely, e.g. stepbox-<random hex> with crypto/rand, and create it with os.Mkdir (which fails if it exists).",
				"A fixed name makes the second container fail with `file exists`, or share the first one's limit, and the first to exit removes the other's cgroup.",
			},
			Mutants: []Mutant{
				{"cgroup.separate", 5, "gives every container the same cgroup name",
					[]Edit{{`os.Getpid(), rand.Uint32())`, `0, rand.Uint32()*0)`, "cgroup.go"}}},
			},
			Run: checkCgroupsSeparate,
		},
		{
			ID: "cgroup.bad_cpus", Step: 5,
			Proves: "a good --cpus value is taken, a bad one exits 2 with one line and creates nothing",
			Hints: [...]string{
				"A good --cpus must be accepted and a bad one (not a number, 0, negative, more than the machine has, NaN) refused with one line and exit 2, before any cgroup exists.",
				"Parse with strconv.ParseFloat while parsing flags; refuse NaN and Inf, below 0.01 (1 ms per 100 ms period, the kernel's minimum) and above runtime.NumCPU().",
				"ParseFloat accepts \"NaN\" and \"Inf\" without error, and a check made only after the cgroup was created leaves the cgroup behind.",
			},
			Mutants: []Mutant{
				{"cgroup.bad_cpus", 5, "accepts --cpus values below 0.01",
					[]Edit{{"if cpus < 0.01 {", "if cpus < -1e9 {", ""}}},
			},
			Run: checkBadCPUs,
		},
		{
			ID: "cgroup.from_start", Step: 5,
			Proves: "the command is in its container's cgroup from its first instruction, never unlimited",
			Hints: [...]string{
				"The command must never run a moment outside its cgroup: look at the order in which the parent starts the child, moves it into the cgroup and lets it go on.",
				"The child must be in the cgroup before it execs: have the parent write its PID to cgroup.procs while the child is still blocked on the sync socket, or have the child join as its first act (the reference, on v1, writes 0 to tasks on every thread); the command it execs inherits the cgroup.",
				"Moving the process after it has started looks fine in every limit you read later, but the command ran unlimited until then; and joining the cgroup from the runtime itself (the article's way) limits the wrong process.",
			},
			Mutants: []Mutant{
				// Two seconds late, not 100 ms: under software emulation the probe may
				// take longer than 100 ms to start and read its cgroup.
				{"cgroup.from_start", 5, "releases the child first and moves it into its cgroup two seconds later, so the command starts unlimited",
					[]Edit{
						{"return cg.moveIn(cmd.Process.Pid)", "return nil", ""},
						{"\tif err := releaseChild(syncWrite, host.cgroup); err != nil {\n\t\treturn 0, err\n\t}\n",
							"\tif err := releaseChild(syncWrite, host.cgroup); err != nil {\n\t\treturn 0, err\n\t}\n" +
								"\t_ = unix.Nanosleep(&unix.Timespec{Sec: 2}, nil)\n\t_ = host.cgroup.write(\"cgroup.procs\", strconv.Itoa(cmd.Process.Pid))\n", ""},
					}},
			},
			Run: checkCgroupFromStart,
		},
		{
			ID: "cli.signals", Step: 5,
			Proves: "the command starts with SIGINT and SIGQUIT at their default disposition, not ignored",
			Hints: [...]string{
				"Ctrl-C must still reach the command: look at how the runtime keeps itself alive on SIGINT and SIGQUIT, and what that does to the child it starts.",
				"signal.Notify(ch, SIGINT, SIGQUIT, ...) installs a handler, and handled signals go back to their default in a child at execve; signal.Ignore sets SIG_IGN, which execve keeps.",
				"An ignored disposition is inherited through fork and exec, so a runtime that ignores SIGINT to survive Ctrl-C hands the container a command that cannot be interrupted; /proc/self/status's SigIgn shows it.",
			},
			Mutants: []Mutant{
				{"cli.signals", 5, "ignores SIGINT and SIGQUIT to survive Ctrl-C instead of catching them",
					[]Edit{{"signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)",
						"signal.Notify(signals, unix.SIGTERM, unix.SIGHUP)\n\tsignal.Ignore(unix.SIGINT, unix.SIGQUIT)", ""}}},
			},
			Run: checkSignalsDefault,
		},
		{
			ID: "cli.fds", Step: 5,
			Proves: "the command starts with file descriptors 0, 1 and 2 open and no others",
			Hints: [...]string{
				"Only stdin, stdout and stderr should reach the command: list /proc/self/fd inside the container and ask where each other number came from.",
				"The sync socket arrives in the child as fd 3 (ExtraFiles[0]) without close-on-exec; close it (syncSocket.Close) once the byte is read, before execve.",
				"A descriptor left open leaks the runtime's plumbing into the container: a pipe the command could write to, or, later, a netlink socket in the host's network namespace.",
			},
			Mutants: []Mutant{
				{"cli.fds", 5, "never closes the sync socket in the child, so the command inherits fd 3",
					[]Edit{{"\tdefer syncSocket.Close()\n", "", ""}}},
			},
			Run: checkFDsClosed,
		},
	},
}

// Step 05: a CPU quota through cgroups.

// liveCgroup runs the probe paused with the given --cpus and calls look
// with the container's cpu cgroup directory on the host while it runs.
func (e *Env) liveCgroup(cpus string, look func(dir string, err error)) (*engine.Result, error) {
	return e.Run(engine.Invocation{
		Flags: e.RunFlags("--cpus", cpus),
		Probe: []string{"report", "--pause"},
		Hold:  func(r *probe.Report) { look(engine.CPUCgroupDir(r)) },
	})
}

// ownCgroup is the outcome for the cgroup directory the container is in,
// which the runtime should have made for it: any name, anywhere in the
// hierarchy, but not the cgroup the runtime itself was started in. The
// sandbox's cgroup jail (cgroupjail.go) is the root the runtime sees, so
// a cgroup it made is below the jail.
func (e *Env) ownCgroup(dir string, err error) (Outcome, bool) {
	if err != nil {
		return fail("the container in a cgroup of its own", "%v", err), false
	}
	if !e.InJail(dir) {
		return fail("the container in a cgroup the runtime made for it", "it is in %s, where the runtime itself runs", dir), false
	}
	return pass(), true
}

func checkQuotaWritten(e *Env) Outcome {
	out := fail("a look at the cgroup", "the probe never reported")
	res, err := e.liveCgroup("0.3", func(dir string, err error) {
		var ok bool
		if out, ok = e.ownCgroup(dir, err); !ok {
			return
		}
		cpus, text, err := engine.ReadQuota(dir)
		if err != nil {
			out = fail("a CPU quota on "+dir, "%v", err)
		} else if cpus < 0.299 || cpus > 0.301 {
			out = fail("a quota of 0.3 CPUs (cpu.max 30000 100000, or cfs_quota_us 30000 with cfs_period_us 100000)", "%s", text)
		}
	})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return fail("the probe's report", "none: %s", res.Describe())
	}
	return out
}

// checkQuotaEnforced burns every CPU for two seconds in the container
// under --cpus 0.25 and, side by side, in a control probe on the host with
// no limit and as many threads. A container above 0.4 CPUs has no quota in
// force. One at or below it passes only when the control, competing on
// equal terms but for the quota, got at least 0.5 CPUs and at least twice
// what the container got: without a quota the two share the machine
// evenly, so a busy machine cannot pass a missing quota. When the control
// got too little to tell, it measures again.
func checkQuotaEnforced(e *Env) Outcome {
	const cpus, limit, floor, tries = 0.25, 0.4, 0.5, 5
	var got, control float64
	for try := 0; try < tries; try++ {
		res, controlBurn, err := e.burnSideBySide(fmt.Sprint(cpus))
		if err != nil {
			return fail("the container to run", "a harness error: %v", err)
		}
		if res.Report == nil || res.Report.Burn == nil {
			return fail("the probe's CPU burn report", "none: %s", res.Describe())
		}
		b := res.Report.Burn
		got, control = b.CPUs(), controlBurn.CPUs()
		if got > limit || got <= 0.02 {
			return fail(fmt.Sprintf("about %.2f CPUs used (at most %.2f)", cpus, limit),
				"%.2f CPUs (%.2fs of CPU in %.2fs on %d threads; an unlimited probe beside it got %.2f)",
				got, b.CPUSeconds, b.WallSeconds, b.Threads, control)
		}
		if control >= floor && control >= 2*got {
			return pass()
		}
	}
	return fail(fmt.Sprintf("an unlimited probe beside the container to get at least %.1f CPUs and twice the container's", floor),
		"%d tries, the last: the probe %.2f CPUs, the container %.2f — the machine is too busy to tell, or the container is not limited", tries, control, got)
}

// burnSideBySide runs the burning probe in the container and, at the same
// time, straight on the host as a control.
func (e *Env) burnSideBySide(cpus string) (*engine.Result, probe.Burn, error) {
	var control probe.Burn
	controlDone := make(chan error, 1)
	go func() {
		out, err := exec.Command(filepath.Join(e.Base, "probe"), "report", "--burn", "2s").Output()
		if r := engine.ParseReport(string(out)); err == nil && r != nil && r.Burn != nil {
			control = *r.Burn
		} else if err == nil {
			err = fmt.Errorf("the control probe printed no burn report")
		}
		controlDone <- err
	}()
	res, err := e.Run(engine.Invocation{
		Flags: e.RunFlags("--cpus", cpus),
		Probe: []string{"report", "--burn", "2s"},
	})
	if controlErr := <-controlDone; err == nil && controlErr != nil {
		err = fmt.Errorf("control probe: %w", controlErr)
	}
	return res, control, err
}

func checkCgroupRemoved(e *Env) Outcome {
	var seen string
	out := fail("a look at the cgroup", "the probe never reported")
	res, err := e.liveCgroup("0.5", func(dir string, err error) {
		var ok bool
		if out, ok = e.ownCgroup(dir, err); ok {
			seen = dir
		}
	})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if seen == "" {
		return out
	}
	if res.TimedOut {
		return fail("the runtime to exit", "%s", res.Describe())
	}
	if _, err := os.Stat(seen); err == nil {
		note := "the harness removed it"
		if err := engine.RemoveCgroup(seen); err != nil {
			note = fmt.Sprintf("the harness could not remove it: %v", err)
		}
		return fail("the container's cgroup removed after it exited", "%s still there (%s)", seen, note)
	}
	return pass()
}

func checkCgroupsSeparate(e *Env) Outcome {
	var first, second string
	out := fail("two containers at once", "the first probe never reported")
	_, err := e.liveCgroup("0.5", func(dir string, err error) {
		var ok bool
		if out, ok = e.ownCgroup(dir, err); !ok {
			return
		}
		first = dir
		var res *engine.Result
		res, err = e.liveCgroup("0.5", func(dir string, err error) {
			if out, ok = e.ownCgroup(dir, err); ok {
				second = dir
			}
		})
		if err == nil && second == "" && out.Pass {
			out = fail("a second container while the first runs", "%s", res.Describe())
		}
	})
	if err != nil {
		return fail("the containers to run", "a harness error: %v", err)
	}
	if out.Pass && first == second {
		return fail("two containers in two cgroups", "both in %s", first)
	}
	return out
}

func checkBadCPUs(e *Env) Outcome {
	// A refusal means something only from a binary that takes a good
	// value: one with no --cpus at all exits 2 for every value too.
	if out := e.takes("--cpus", "0.5"); !out.Pass {
		return out
	}
	before := e.JailContents()
	for _, value := range []string{"abc", "0", "-1", "100000", "NaN"} {
		res, err := e.Run(engine.Invocation{Argv: append(append([]string{"run"}, e.RunFlags("--cpus", value)...), "/bin/true")})
		if err != nil {
			return fail("the binary to run", "a harness error: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
		if res.Exit != 2 || len(lines) != 1 || lines[0] == "" || hasPanic(res.Stderr) {
			return fail(fmt.Sprintf("--cpus %s refused: exit status 2 and one line on stderr", value), "%s", res.Describe())
		}
	}
	// Any name: the jail holds whatever the runtime made.
	if left := engine.MultisetMinus(e.JailContents(), before); len(left) > 0 {
		return fail("no cgroup made for a refused --cpus", "%s left behind", strings.Join(left, ", "))
	}
	return pass()
}

// takes: the binary runs a command with flag set to a good value.
func (e *Env) takes(flag, value string) Outcome {
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(flag, value), Probe: []string{"exit", "0"}})
	if err != nil {
		return fail("the binary to run", "a harness error: %v", err)
	}
	if res.Exit != 0 {
		return fail(flag+" "+value+" accepted (the command run, exit status 0)", "%s", res.Describe())
	}
	return pass()
}

// Step 05: what the command is handed when it starts. The parent that
// waits, the sync socket and the cgroup are new in this step, and each can
// leak into the command: an ignored signal, an open descriptor, a moment
// outside the cgroup. The probe records all three before it does
// anything else (probe/start.go); the sandbox starts the runtime with
// none of them (sandboxstart.go), so what the probe sees is the runtime's.

// checkSignalsDefault: SIGINT and SIGQUIT reach the command at their
// default disposition. A runtime that ignores them to survive Ctrl-C
// (instead of catching them) passes the ignore on through exec.
func checkSignalsDefault(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	mask, err := strconv.ParseUint(res.Report.SigIgn, 16, 64)
	if err != nil {
		return fail("the command's SigIgn in /proc/self/status", "%q, not a hex mask", res.Report.SigIgn)
	}
	var ignored []string
	for _, s := range []struct {
		num  uint
		name string
	}{{2, "SIGINT"}, {3, "SIGQUIT"}} {
		if mask&(1<<(s.num-1)) != 0 {
			ignored = append(ignored, s.name)
		}
	}
	if len(ignored) > 0 {
		return fail("SIGINT and SIGQUIT at their default disposition in the command",
			"%s ignored (SigIgn %s)", strings.Join(ignored, " and "), res.Report.SigIgn)
	}
	return pass()
}

// checkFDsClosed: the command starts with stdin, stdout and stderr open
// and nothing else: not the sync socket, not a netlink socket.
func checkFDsClosed(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	fds := res.Report.FDsAtStart
	if len(fds) == 0 {
		return fail("the command's open file descriptors, from /proc/self/fd", "none could be read: is /proc mounted?")
	}
	extra := slices.DeleteFunc(slices.Clone(fds), func(fd int) bool { return fd <= 2 })
	if len(extra) > 0 {
		return fail("only file descriptors 0, 1 and 2 open when the command starts",
			"also %s open", strings.Trim(fmt.Sprint(extra), "[]"))
	}
	return pass()
}

// checkCgroupFromStart: the command is in the container's cgroup from its
// first instruction, so it never runs unlimited.
func checkCgroupFromStart(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	dir, err := engine.CPUCgroupDir(&probe.Report{Cgroups: res.Report.CgroupsAtStart})
	if err != nil {
		return fail("the cgroup the command started in", "%v", err)
	}
	if !e.InJail(dir) {
		return fail("the command in its container's cgroup when it starts",
			"it started in %s, where the runtime runs, and was moved later: until then it ran unlimited", dir)
	}
	return pass()
}
