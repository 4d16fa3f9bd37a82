package harness

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/stepbox/stepbox/harness/engine"
)

// Check is one claim a step makes, proved on a real kernel: one record
// holds all there is of it, in the file of its step.
type Check struct {
	ID     string // stable, e.g. "pid.one"
	Step   int    // the step that introduces it
	Proves string // what passing proves, in one line
	// Hints are what `make hint` shows one at a time (nudge, syscall,
	// pitfall); the syscall one is the hint of its FAIL line. Write them
	// as [...]string{...}: a missing or extra hint does not compile.
	Hints [HintLevels]string
	// Mutants are its known-bad programs, each made from a reference step
	// with one defect; the harness's tests prove the check rejects them.
	Mutants []Mutant
	Run     func(*Env) Outcome
}

// Hint is the one line a failure is shown with: the syscall hint, which
// names the call, flag or file that does it.
func (c Check) Hint() string { return c.Hints[HintSyscall] }

// Outcome is the result of one check: pass, or what was expected and what
// was seen instead.
type Outcome struct {
	Pass     bool
	Expected string
	Got      string
	// Cause, when set, replaces the check's hint: the failure has a
	// cause the check's own hints would misname (no /proc to read).
	Cause string
}

func pass() Outcome { return Outcome{Pass: true} }

func fail(expected, got string, args ...any) Outcome {
	return Outcome{Expected: expected, Got: fmt.Sprintf(got, args...)}
}

// Verdict is a check's outcome with the check it belongs to.
type Verdict struct {
	Check
	Outcome
}

// Line is the one-line form stepcheck prints and tests report:
// "PASS pid.one" or "FAIL pid.one: expected ..., got ... — hint: ...".
func (v Verdict) Line() string {
	if v.Pass {
		return "PASS " + v.ID
	}
	return fmt.Sprintf("FAIL %s: expected %s, got %s — hint: %s", v.ID, v.Expected, v.Got, v.HintText())
}

// HintText is the hint a failure is shown with: its own cause when it
// has one, else the check's hint.
func (v Verdict) HintText() string {
	if v.Cause != "" {
		return v.Cause
	}
	return v.Hint()
}

// Env is a binary under test as the checks see it: the engine's Env
// (the binary, its step, its runs) and the standard run most checks read.
type Env struct {
	*engine.Env

	mu       sync.Mutex
	standard *engine.Result
}

// NewEnv prepares to check bin as an implementation of step.
func NewEnv(bin string, step int) (*Env, error) {
	env, err := engine.NewEnv(bin, step)
	if err != nil {
		return nil, err
	}
	return &Env{Env: env}, nil
}

// Verify runs one check. A check whose runs left a cgroup behind fails,
// whatever it looked at: the harness removes what was left.
func (e *Env) Verify(c Check) Verdict {
	out := c.Run(e)
	left, err := e.SweepJail()
	if len(left) > 0 && out.Pass {
		note := "the harness removed them"
		if err != nil {
			note = fmt.Sprintf("the harness could not remove them: %v", err)
		}
		out = Outcome{
			Expected: "no cgroup left after the container exits",
			Got:      fmt.Sprintf("%s left behind (%s)", strings.Join(left, ", "), note),
			Cause:    "remove the container's cgroup after it exits, and on every error path too; never make one before a flag is known to be good",
		}
	}
	return Verdict{Check: c, Outcome: out}
}

// report is the run most checks read: the probe's report, with the step's
// flags. It runs once per Env; a failed outcome says why there is none.
func (e *Env) report() (*engine.Result, Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.standard == nil {
		probeArgs := []string{"report", "--look", e.HostMarker(), "--read", engine.RootfsTokenFile}
		if e.Has("--rootfs") {
			probeArgs = append(probeArgs, "--escape", e.HostMarker())
		}
		res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: probeArgs})
		if err != nil {
			return nil, fail("the probe to run", "a harness error: %v", err)
		}
		e.standard = res
	}
	if e.standard.Report == nil {
		out := fail("the probe's report on stdout", "none: %s", e.standard.Describe())
		out.Cause = FailedBeforeProbe(e.standard)
		return nil, out
	}
	return e.standard, pass()
}

// FailedBeforeProbe is the one hint for every check that found no report:
// the program failed before the probe ran, so no check could look, and
// their own hints would blame what they never saw. The article's classic
// failure, pivot_root on a shared /, is named.
func FailedBeforeProbe(res *engine.Result) string {
	hint := "the program failed before the probe ran, so this check could not look: fix that failure first (its exit status and stderr are above)"
	if sharedRootPivot(res) {
		hint += "; " + sharedRootPitfall
	}
	return hint
}

const sharedRootPitfall = "pivot_root says EINVAL when / is a shared mount, as on systemd hosts: make / private (MS_REC|MS_PRIVATE) before pivot_root (step 04's Pitfalls)"

// sharedRootPivot says whether a run looks like pivot_root refused on a
// shared /: "invalid argument", and either pivot_root named in stderr or
// the run's rootfs bind mount leaked out (it propagated, being shared).
// The article's must() panics with the bare "invalid argument".
func sharedRootPivot(res *engine.Result) bool {
	stderr := strings.ToLower(res.Stderr)
	if !strings.Contains(stderr, "invalid argument") {
		return false
	}
	if strings.Contains(stderr, "pivot_root") || strings.Contains(stderr, "pivotroot(") {
		return true
	}
	return slices.ContainsFunc(engine.MultisetMinus(res.Witness.After.Mounts, res.Witness.Before.Mounts), func(m string) bool {
		return strings.HasSuffix(strings.Fields(m)[0], "/rootfs")
	})
}

// Preflight runs the standard run and says, in one line, why no check can
// look when the program failed before the probe ran ("" when it ran).
func (e *Env) Preflight() string {
	if res, _ := e.report(); res != nil {
		return ""
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.standard == nil {
		return "the program could not be run"
	}
	line := "the program failed before the probe ran: " + e.standard.Describe()
	if sharedRootPivot(e.standard) {
		line += " — " + sharedRootPitfall
	}
	return line
}

// hasPanic reports whether output looks like a Go panic or crash.
func hasPanic(stderr string) bool {
	return strings.Contains(stderr, "panic:") || strings.Contains(stderr, "goroutine ")
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
