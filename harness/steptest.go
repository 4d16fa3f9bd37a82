package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// TestStep is the whole test of a reference step: it builds the step and
// runs the checks of that step and every earlier one, each as a subtest
// under the host guard.
func TestStep(t *testing.T, step int) {
	engine.RequirePrivileged(t)
	which := os.Getenv(StepChecksEnv)
	checks, err := StepChecks(step, which)
	require.NoError(t, err)
	require.NotEmpty(t, checks, "step %02d has no checks to run", step)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	bin, err := engine.BuildStep(step)
	require.NoError(t, err, "building step %02d", step)
	verdicts := RunChecks(t, bin, step, checks)
	if which == "" || which == "all" {
		compareStepTranscript(t, step, verdicts, len(checks))
	}
}

// compareStepTranscript compares what stepcheck would print for the
// reference step with its golden transcript, stepNN.txt, when every
// check ran (not under a -run that picks some).
func compareStepTranscript(t *testing.T, step int, verdicts []Verdict, want int) {
	if len(verdicts) != want {
		t.Logf("golden transcript not compared: %d of the %d checks ran", len(verdicts), want)
		return
	}
	dir, err := os.Getwd()
	require.NoError(t, err)
	ts := Transcript{
		Label:    "the reference steps/" + filepath.Base(dir),
		Step:     step,
		Verdicts: verdicts,
		HintCmd:  fmt.Sprintf("make hint STEP=%02d", step),
	}
	CompareGolden(t, fmt.Sprintf("step%02d.txt", step), ts.String())
}

// StepChecksEnv set to "own" makes a step's test run only the checks of
// its own lesson, not those of every earlier step too. For a slow guest
// (arm64 under emulation) in a run where every step's test runs: each
// check still runs, on the step that brings it.
const StepChecksEnv = "STEPBOX_STEP_CHECKS"

// StepChecks are the checks a step's test runs: with which "" or "all",
// those of the step and every earlier one; with "own", those the step
// adds, or, for a step that adds none, those of the latest step before it
// that does.
func StepChecks(step int, which string) ([]Check, error) {
	switch which {
	case "", "all":
		return ChecksUpTo(step), nil
	case "own":
		for s := step; s > 0; s-- {
			var own []Check
			for _, c := range Catalogue {
				if c.Step == s {
					own = append(own, c)
				}
			}
			if len(own) > 0 {
				return own, nil
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("%s=%q: want all (the default) or own", StepChecksEnv, which)
}

// RunChecks runs checks against bin as an implementation of step, each as
// a subtest that fails with the check's line, and returns the verdicts of
// those that ran.
func RunChecks(t *testing.T, bin string, step int, checks []Check) []Verdict {
	env, err := NewEnv(bin, step)
	require.NoError(t, err)
	t.Cleanup(func() { env.Close() })
	var verdicts []Verdict
	for _, c := range checks {
		t.Run(c.ID, func(t *testing.T) {
			v := Guarded(t, env, c)
			verdicts = append(verdicts, v)
			if !v.Pass {
				t.Error(v.Line())
			}
		})
	}
	return verdicts
}

// Guarded runs one check under the host guard; a changed host fails t.
func Guarded(t *testing.T, env *Env, c Check) Verdict {
	t.Helper()
	g, err := engine.StartGuard(env.Base)
	require.NoError(t, err)
	v := env.Verify(c)
	if diff := g.Finish(); diff != "" {
		t.Error(fmt.Sprintf("host guard after %s: %s", c.ID, diff))
	}
	return v
}
