package qemu

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// fakePrebuilt writes empty stand-ins for every binary the harness looks
// up in $STEPBOX_PREBUILT.
func fakePrebuilt(t *testing.T, steps ...int) string {
	dir := t.TempDir()
	names := []string{"probe"}
	for _, n := range steps {
		names = append(names, engine.StepBinaryName(n))
	}
	for _, m := range harness.Mutants {
		names = append(names, harness.MutantName(m))
	}
	for _, n := range names {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n), []byte(n), 0o755))
	}
	return dir
}

// The guest has no Go toolchain: with $STEPBOX_PREBUILT set, the harness
// must find every binary there, even where no go.mod is found upward.
func TestHarnessUsesPrebuiltOutsideTheModule(t *testing.T) {
	dir := fakePrebuilt(t, 1, 4)
	t.Setenv(engine.PrebuiltEnv, dir)
	t.Chdir(t.TempDir())
	_, err := engine.ModuleRoot()
	require.Error(t, err, "the test must run outside the module")

	got, err := engine.BuildStep(4)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "step-04"), got)
	got, err = engine.BuildProbe()
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(dir, "probe"), got)
	for _, m := range harness.Mutants {
		got, err = harness.BuildMutant(m)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(dir, harness.MutantName(m)), got)
	}
	_, err = engine.BuildStep(2)
	assert.ErrorContains(t, err, "prebuilt binary", "a missing prebuilt binary is an error, not a build")
}

func TestBreakStepSwapsInTheMutant(t *testing.T) {
	dir := fakePrebuilt(t, 3)
	require.NoError(t, BreakStep(dir, "pid.one", t.Logf))
	data, err := os.ReadFile(filepath.Join(dir, "step-03"))
	require.NoError(t, err)
	assert.Equal(t, "mutant-pid.one", string(data))
	assert.ErrorContains(t, BreakStep(dir, "no.such_check", t.Logf), "no mutant")
}
