package harness

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// Helpers for the fault, bad-input and stress tests: they drive the
// reference step 05 through the runner, under the host guard.

// step05Env builds reference step 05 and an Env for it.
func step05Env(t *testing.T) *Env {
	t.Helper()
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	bin, err := engine.BuildStep(5)
	require.NoError(t, err)
	env, err := NewEnv(bin, 5)
	require.NoError(t, err)
	t.Cleanup(func() { env.Close() })
	return env
}

// underGuard runs fn with the host lock held and fails t if the host
// changed (mounts, stepbox cgroups, links, hostname, base rootfs).
func underGuard(t *testing.T, env *Env, fn func()) {
	t.Helper()
	g, err := engine.StartGuard(env.Base)
	require.NoError(t, err)
	defer func() {
		if diff := g.Finish(); diff != "" {
			t.Errorf("host guard: %s", diff)
		}
	}()
	fn()
}

// marker is a unique number of seconds for "sleep", so the test can find
// the container's processes on the host by their command line.
func marker() string { return fmt.Sprint(1_000_000 + rand.IntN(8_000_000)) }

// processesWith lists the host PIDs whose command line contains word.
func processesWith(word string) []string {
	var pids []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}), []byte(word)) {
			pids = append(pids, e.Name())
		}
	}
	return pids
}

// requireGone waits up to 5s for every process whose command line holds
// word to be gone.
func requireGone(t *testing.T, word string) {
	t.Helper()
	var left []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if left = processesWith(word); len(left) == 0 {
			return
		}
	}
	t.Fatalf("container processes with %q still running: PIDs %v", word, left)
}

// waitForOutput polls out until it contains want, for up to 10s.
func waitForOutput(out func() string, want string) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out(), want) {
			return true
		}
	}
	return false
}

// requireNoCgroups fails unless the runs of env left no cgroup, in its
// cgroup jail (any name) or as a stepbox-* cgroup on the host.
func requireNoCgroups(t *testing.T, env *Env, when string) {
	t.Helper()
	require.Empty(t, env.JailContents(), "cgroups left in the jail %s", when)
	require.Empty(t, engine.StepboxCgroups(), "stepbox cgroups left %s", when)
}

// requireOwnerReaped waits up to 5s until the runtime named in a
// stepbox-<PID>-<hex> cgroup no longer exists, not even as a zombie.
func requireOwnerReaped(t *testing.T, cgroup string) {
	t.Helper()
	fields := strings.Split(filepath.Base(cgroup), "-")
	require.Len(t, fields, 3, "cgroup name %s", cgroup)
	pid, err := strconv.Atoi(fields[1])
	require.NoError(t, err)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			return
		}
	}
	t.Fatalf("the runtime %d that owned %s was never reaped", pid, cgroup)
}

// requireNextRunRemovesStale checks that a killed runtime left exactly
// its own cgroup (else the test proves nothing), waits until the runtime
// is reaped (until then it still "exists"), and that the next run of
// the step removes that cgroup.
func requireNextRunRemovesStale(t *testing.T, env *Env) {
	t.Helper()
	stale := env.JailContents()
	require.Len(t, stale, 1, "the killed runtime should leave its own empty cgroup")
	requireOwnerReaped(t, stale[0])
	next, err := env.Run(engine.Invocation{Cmd: []string{"/bin/true"}})
	require.NoError(t, err)
	require.Equal(t, 0, next.Exit, next.Describe())
	requireNoCgroups(t, env, "after the next run, which should remove the stale one")
}
