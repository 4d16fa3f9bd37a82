package engine

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSandboxContainsABrokenProgram runs a "runtime" that renames the
// machine and mounts over /mnt with no namespaces of its own: the sandbox
// must take both, the witness must see both, and the host must see neither.
func TestSandboxContainsABrokenProgram(t *testing.T) {
	RequirePrivileged(t)
	env, err := NewEnv("/bin/sh", 1)
	require.NoError(t, err)
	defer env.Close()
	g, err := StartGuard(env.Base)
	require.NoError(t, err)
	host, _ := os.Hostname()

	res, err := env.Run(Invocation{Argv: []string{"-c", "hostname sbx-renamed && mount -t tmpfs stepbox-test /mnt && exit 3"}})
	require.NoError(t, err)

	assert.Empty(t, g.Finish(), "the host guard saw a change")
	assert.Equal(t, 3, res.Exit, res.Describe())
	assert.Equal(t, host, res.Witness.Before.Hostname)
	assert.Equal(t, "sbx-renamed", res.Witness.After.Hostname)
	assert.Equal(t, []string{"/mnt tmpfs stepbox-test"}, MultisetMinus(res.Witness.After.Mounts, res.Witness.Before.Mounts))
	now, _ := os.Hostname()
	assert.Equal(t, host, now)
}

// TestRunnerTimesOut proves a hanging command is killed, with everything
// it started, and reported as timed out.
func TestRunnerTimesOut(t *testing.T) {
	RequirePrivileged(t)
	env, err := NewEnv("/bin/sh", 1)
	require.NoError(t, err)
	defer env.Close()
	res, err := env.Run(Invocation{Argv: []string{"-c", "sleep 60 & sleep 60"}, Timeout: 300 * time.Millisecond})
	require.NoError(t, err)
	assert.True(t, res.TimedOut)
	assert.Contains(t, res.Describe(), "timed out")
}

func TestMultisetMinus(t *testing.T) {
	assert.Equal(t, []string{"b", "a"}, MultisetMinus([]string{"a", "b", "a", "a"}, []string{"a", "a"}))
	assert.Empty(t, MultisetMinus([]string{"a"}, []string{"a", "b"}))
}

func TestLineWatcherSignalsTheFirstLine(t *testing.T) {
	w := &lineWatcher{first: make(chan struct{})}
	_, _ = w.Write([]byte("par"))
	select {
	case <-w.first:
		t.Fatal("signalled before a newline")
	default:
	}
	_, _ = w.Write([]byte("tial\nmore\n"))
	<-w.first
	assert.Equal(t, "partial\nmore\n", w.String())
}
