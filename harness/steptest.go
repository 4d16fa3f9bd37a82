package harness

import (
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// TestStep is the whole test of a reference step: it builds the step and
// runs the checks of that step and every earlier one, each as a subtest
// under the host guard.
func TestStep(t *testing.T, step int) {
	engine.RequirePrivileged(t)
	checks, err := StepChecks(step, os.Getenv(StepChecksEnv))
	require.NoError(t, err)
	require.NotEmpty(t, checks, "step %02d has no checks to run", step)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	bin, err := engine.BuildStep(step)
	require.NoError(t, err, "building step %02d", step)
	RunChecks(t, bin, step, checks)
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
// a subtest that fails with the check's line.
func RunChecks(t *testing.T, bin string, step int, checks []Check) {
	env, err := NewEnv(bin, step)
	require.NoError(t, err)
	t.Cleanup(func() { env.Close() })
	for _, c := range checks {
		t.Run(c.ID, func(t *testing.T) {
			v := Guarded(t, env, c)
			if !v.Pass {
				t.Error(v.Line())
			}
		})
	}
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
