package qemu

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// A run of one step builds that step, the probe and the mutant it breaks
// the step with; a run with the harness builds everything.
func TestBuildForBuildsWhatTheTestsUse(t *testing.T) {
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	folders, steps, err := StepFolders(root)
	require.NoError(t, err)
	all, err := selectPackages(root, append([]string{"harness"}, folders...), nil)
	require.NoError(t, err)
	assert.Equal(t, "harness", all[0])
	assert.Len(t, all, len(folders)+1)

	one, err := selectPackages(root, folders, []string{"./steps/03-pid-mnt/"})
	require.NoError(t, err)
	assert.Equal(t, []string{"steps/03-pid-mnt"}, one)
	set := prebuiltFor(one, folders, steps, "pid.one")
	assert.Equal(t, []int{3}, set.steps)
	require.Len(t, set.mutants, 1)
	assert.Equal(t, "pid.one", set.mutants[0].Check)

	full := prebuiltFor(all, folders, steps, "")
	assert.Equal(t, steps, full.steps)
	assert.Len(t, full.mutants, len(harness.Mutants)+len(harness.Variants), "the mutants and the variants the harness's tests build")

	_, err = selectPackages(root, folders, []string{"steps/99-none"})
	assert.ErrorContains(t, err, "no test package matches")
}
