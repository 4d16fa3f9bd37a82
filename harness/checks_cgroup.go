package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

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
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--cpus", "0.5"), Probe: []string{"exit", "0"}})
	if err != nil {
		return fail("the binary to run", "a harness error: %v", err)
	}
	if res.Exit != 0 {
		return fail("--cpus 0.5 accepted (the command run, exit status 0)", "%s", res.Describe())
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
