package harness

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/engine"
)

// Fault tests: reference step 05 under a killed parent, forwarded signals,
// Ctrl-C on a terminal, a hung command, a read-only rootfs and no cgroup
// filesystem. Each ends with nothing left on the host.

// TestFaultKilledRuntime: SIGKILL to the runtime mid-run kills the whole
// container (Pdeathsig), and the cgroup it could not remove is removed
// by the next run.
func TestFaultKilledRuntime(t *testing.T) {
	env := step05Env(t)
	underGuard(t, env, func() {
		sleep := marker()
		res, err := env.Run(engine.Invocation{
			Cmd: []string{"/bin/sh", "-c", "sleep " + sleep + " & echo ready; wait"},
			Live: func(pid int, out func() string) {
				if assert.True(t, waitForOutput(out, "ready"), "the container never started") {
					assert.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
				}
			},
		})
		require.NoError(t, err)
		assert.Equal(t, 128+int(syscall.SIGKILL), res.Exit, res.Describe())
		requireGone(t, "sleep "+sleep)
		requireNextRunRemovesStale(t, env)
	})
}

// TestFaultSignalsForwarded: SIGTERM and SIGINT to the runtime reach the
// container's command, and the runtime still removes the cgroup.
func TestFaultSignalsForwarded(t *testing.T) {
	env := step05Env(t)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		name := strings.TrimPrefix(unix.SignalName(sig), "SIG")
		t.Run(name, func(t *testing.T) {
			underGuard(t, env, func() {
				script := `trap 'echo caught ` + name + `; exit 7' ` + name + `; echo ready; while :; do sleep 0.05; done`
				res, err := env.Run(engine.Invocation{
					Cmd: []string{"/bin/sh", "-c", script},
					Live: func(pid int, out func() string) {
						if assert.True(t, waitForOutput(out, "ready"), "the container never started") {
							assert.NoError(t, syscall.Kill(pid, sig))
						}
					},
				})
				require.NoError(t, err)
				assert.Equal(t, 7, res.Exit, res.Describe())
				assert.Contains(t, res.Stdout, "caught "+name)
				requireNoCgroups(t, env, "after the runtime exited")
			})
		})
	}
}

// TestFaultCtrlCReachesShell: on a terminal, Ctrl-C interrupts the
// foreground command of an interactive shell in the container; the shell
// and the runtime live on.
func TestFaultCtrlCReachesShell(t *testing.T) {
	env := step05Env(t)
	master, slave, err := engine.OpenPTY()
	require.NoError(t, err)
	defer master.Close()
	defer slave.Close()
	term := &engine.TerminalLog{}
	go term.CopyFrom(master)

	underGuard(t, env, func() {
		res, err := env.Run(engine.Invocation{
			Cmd:      []string{"/bin/sh", "-i"},
			Terminal: slave,
			Timeout:  30 * time.Second,
			Live: func(pid int, _ func() string) {
				// "echo alive" can only run once sleep has ended: seeing
				// alive-42 proves Ctrl-C ended it and the shell lived on.
				steps := []struct{ send, want string }{
					{"", "# "}, // the prompt
					{"sleep 1000\n", ""},
					{"\x03", ""},
					{"echo alive-$((6*7))\n", "alive-42"},
				}
				for _, s := range steps {
					if s.send == "\x03" {
						time.Sleep(300 * time.Millisecond) // let sleep start
					}
					if _, err := master.WriteString(s.send); !assert.NoError(t, err) {
						break
					}
					if s.want != "" && !assert.True(t, waitForOutput(term.String, s.want), "terminal never showed %q:\n%s", s.want, term.String()) {
						break
					}
				}
				assert.NoError(t, syscall.Kill(pid, 0), "the runtime exited on Ctrl-C")
				_, _ = master.WriteString("exit 5\n")
			},
		})
		require.NoError(t, err)
		assert.False(t, res.TimedOut, "the shell did not exit:\n%s", term.String())
		assert.Equal(t, 5, res.Exit, "exit status of the shell, through the runtime:\n%s", term.String())
		requireNoCgroups(t, env, "after the shell exited")
	})
}

// TestFaultHungCommand: the runner's timeout kills a command that never
// ends, with its runtime; no process stays, and the next run removes the
// cgroup the killed runtime left.
func TestFaultHungCommand(t *testing.T) {
	env := step05Env(t)
	underGuard(t, env, func() {
		sleep := marker()
		res, err := env.Run(engine.Invocation{Cmd: []string{"/bin/sleep", sleep}, Timeout: 2 * time.Second})
		require.NoError(t, err)
		assert.True(t, res.TimedOut, res.Describe())
		requireGone(t, "sleep "+sleep)
		requireNextRunRemovesStale(t, env)
	})
}

// TestFaultReadOnlyRootfs: a rootfs on a read-only disk still runs (the
// step mounts /proc and /dev on top, and writes nothing into it), but the
// container cannot write to it; a read-only rootfs without /dev is a
// clear runtime error, exit 125.
func TestFaultReadOnlyRootfs(t *testing.T) {
	env := step05Env(t)
	t.Run("usable", func(t *testing.T) {
		underGuard(t, env, func() {
			res, err := env.Run(engine.Invocation{
				Cmd:            []string{"/bin/sh", "-c", "echo x > /written || echo refused; cat /dev/null && echo devnull"},
				ReadOnlyRootfs: true,
			})
			require.NoError(t, err)
			assert.Equal(t, 0, res.Exit, res.Describe())
			assert.Contains(t, res.Stdout, "refused")
			assert.Contains(t, res.Stdout, "devnull")
			assert.NoFileExists(t, filepath.Join(res.Rootfs, "written"))
			requireNoCgroups(t, env, "after the run")
		})
	})
	t.Run("no /dev", func(t *testing.T) {
		underGuard(t, env, func() {
			res, err := env.Run(engine.Invocation{
				Cmd:            []string{"/bin/true"},
				ReadOnlyRootfs: true,
				Prepare:        func(rootfs string) error { return os.RemoveAll(filepath.Join(rootfs, "dev")) },
			})
			require.NoError(t, err)
			assert.Equal(t, 125, res.Exit, res.Describe())
			assertOneErrorLine(t, res, "cannot create /dev", "read-only file system")
			requireNoCgroups(t, env, "after the failed run")
		})
	})
}

// TestFaultNoCgroupFilesystem: when no cgroup can be created, the runtime
// says so in one line and exits 125, and the child it started is gone.
func TestFaultNoCgroupFilesystem(t *testing.T) {
	env := step05Env(t)
	underGuard(t, env, func() {
		sleep := marker()
		res, err := env.Run(engine.Invocation{Cmd: []string{"/bin/sleep", sleep}, NoCgroups: true})
		require.NoError(t, err)
		assert.Equal(t, 125, res.Exit, res.Describe())
		assertOneErrorLine(t, res, "cgroup")
		requireGone(t, "sleep "+sleep)
		requireNoCgroups(t, env, "after the failed run")
	})
}

// assertOneErrorLine checks stderr is one "stepbox: ..." line holding
// every part, and no panic.
func assertOneErrorLine(t *testing.T, res *engine.Result, parts ...string) {
	t.Helper()
	stderr := strings.TrimRight(res.Stderr, "\n")
	assert.False(t, hasPanic(stderr), "panic: %s", stderr)
	assert.NotContains(t, stderr, "\n", "more than one line on stderr")
	assert.True(t, strings.HasPrefix(stderr, "stepbox: "), "stderr %q", stderr)
	for _, p := range parts {
		assert.Contains(t, stderr, p)
	}
}
