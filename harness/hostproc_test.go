package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// A program whose first line out is not the probe's report (the article
// prints "ERROR ..." on stdout) gets a failed cli.exec, not a crash: Hold
// is called with no report, and findOnHost once dereferenced it.
func TestExecCheckWithoutReport(t *testing.T) {
	assert.Error(t, findOnHost(nil).err)
	engine.RequirePrivileged(t)
	bin := filepath.Join(t.TempDir(), "prints-error")
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\necho ERROR not a report\nexit 1\n"), 0o755))
	env, err := NewEnv(bin, 1)
	require.NoError(t, err)
	t.Cleanup(func() { env.Close() })
	check, ok := catalogueCheck("cli.exec")
	require.True(t, ok)
	v := Guarded(t, env, check)
	assert.False(t, v.Pass, v.Line())
}
