package oci

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// The sandbox is what keeps the clients off the host: its /run is its
// own, a command's working directory is reachable there (runtimes call
// getcwd), its PID namespace ends with it, and crun's sandbox has no
// cgroup2 mount on a hybrid host.
func TestSandbox(t *testing.T) {
	engine.RequirePrivileged(t)
	RequireTools(t, "nsenter", "env")
	for _, hide := range []bool{false, true} {
		sb, err := StartSandbox(hide)
		require.NoError(t, err)
		dir := t.TempDir()

		r, err := sb.Run("sh", "-c", "touch /run/stepbox-oci-sandbox-test && echo $$")
		require.NoError(t, err)
		require.Equal(t, 0, r.Exit, "%s", r)
		_, statErr := os.Stat("/run/stepbox-oci-sandbox-test")
		assert.True(t, os.IsNotExist(statErr), "a file made in the sandbox's /run appeared on the host")

		cmd := sb.CommandIn(dir, "pwd", "-P")
		out, err := cmd.Output()
		require.NoError(t, err, "getcwd in the sandbox")
		assert.Equal(t, dir, strings.TrimSpace(string(out)))

		r, err = sb.Run("cat", "/proc/self/mountinfo")
		require.NoError(t, err)
		if unified := hybridUnified(); unified != "" {
			assert.Equal(t, !hide, strings.Contains(r.Stdout, " "+unified+" "), "cgroup2 in the sandbox, hidden: %v", hide)
		}

		ns := sb.PIDNS
		require.NoError(t, sb.Close())
		assert.Empty(t, ProcessesIn(ns), "processes outlived the sandbox")
	}
}
