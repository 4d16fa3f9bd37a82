package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// Steps 02 and 03: namespaces.

func checkHostname(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if res.Report.Hostname != e.Hostname() {
		return fail(fmt.Sprintf("hostname %q inside", e.Hostname()), "%q", res.Report.Hostname)
	}
	return pass()
}

// newNamespace checks that the container's namespace of a kind is not the
// one the runtime was started in.
func newNamespace(kind string) func(*Env) Outcome {
	return func(e *Env) Outcome {
		res, out := e.report()
		if res == nil {
			return out
		}
		inside, outside := res.Report.Namespaces[kind], res.Witness.Namespaces[kind]
		if inside == "" {
			return Outcome{
				Expected: fmt.Sprintf("a new %s namespace (outside is %s)", kind, outside),
				Got:      fmt.Sprintf("no answer: /proc/self/ns/%s could not be read inside", kind),
				Cause:    "cannot read /proc/self/ns inside: is /proc mounted? Mount a fresh proc on /proc in the child, after pivot_root",
			}
		}
		if inside == outside {
			return fail(fmt.Sprintf("a new %s namespace (outside is %s)", kind, outside), "%s", inside)
		}
		return pass()
	}
}

func checkHostUnchanged(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	w := res.Witness
	if w.Before.Hostname != w.After.Hostname {
		return fail(fmt.Sprintf("the hostname outside to stay %q", w.Before.Hostname), "%q after the run", w.After.Hostname)
	}
	return pass()
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
