package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/vm/qemu"
)

func TestTestListIsPackageTabRelativeBinary(t *testing.T) {
	out := filepath.Join(t.TempDir(), "vm")
	got := testList(out, []qemu.TestPackage{
		{Name: "harness", Bin: filepath.Join(out, "tests", "harness.test")},
		{Name: "steps/04-pivotroot", Bin: filepath.Join(out, "tests", "steps_04-pivotroot.test")},
	})
	assert.Equal(t, "harness\ttests/harness.test\nsteps/04-pivotroot\ttests/steps_04-pivotroot.test\n", got)
}

func TestUsageAndArchitecture(t *testing.T) {
	var stderr bytes.Buffer
	assert.Equal(t, exitUsage, run(nil, &stderr), "--out is required")
	assert.Contains(t, stderr.String(), "usage:")
	stderr.Reset()
	assert.Equal(t, exitRuntime, run([]string{"--arch", "riscv64", "--out", t.TempDir()}, &stderr))
	assert.Contains(t, stderr.String(), "only amd64 and arm64")
}

func TestMutantListNamesCheckPackageAndBinaries(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "steps", "03-pid-mnt"), 0o755))
	got, err := mutantList(root, []harness.Mutant{{Check: "pid.one", Step: 3}})
	require.NoError(t, err)
	assert.Equal(t, "pid.one\tsteps/03-pid-mnt\tstep-03\tmutant-pid.one\n", got)

	_, err = mutantList(root, []harness.Mutant{{Check: "x.y", Step: 9}})
	assert.ErrorContains(t, err, "mutant for x.y", "a mutant whose step has no folder is an error, not a silent skip")
}
