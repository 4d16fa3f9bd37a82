package harness

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStep is the whole test of a reference step: it builds the step and
// runs the checks of that step and every earlier one, each as a subtest
// under the host guard.
func TestStep(t *testing.T, step int) {
	RequirePrivileged(t)
	t.Cleanup(func() { _ = RemoveBuilds() })
	bin, err := BuildStep(step)
	require.NoError(t, err, "building step %02d", step)
	RunChecks(t, bin, step, ChecksUpTo(step))
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
	g, err := StartGuard(env.Base)
	require.NoError(t, err)
	v := env.Verify(c)
	if diff := g.Finish(); diff != "" {
		t.Error(fmt.Sprintf("host guard after %s: %s", c.ID, diff))
	}
	return v
}
