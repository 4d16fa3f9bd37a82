package harness

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 05: what the command is handed when it starts. The parent that
// waits, the sync pipe and the cgroup are new in this step, and each can
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
// and nothing else: not the sync pipe, not a netlink socket.
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
