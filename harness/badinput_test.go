package harness

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// TestBadInvocations runs reference step 05 with malformed or unusual
// command lines: each gets its documented exit status and one clear line
// on stderr (or runs, when the input is odd but valid), and leaves
// nothing behind.
func TestBadInvocations(t *testing.T) {
	env := step05Env(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "a-file")
	require.NoError(t, os.WriteFile(file, []byte("not a rootfs\n"), 0o644))
	loop := filepath.Join(dir, "loop")
	require.NoError(t, os.Symlink(loop, loop))
	spaces := filepath.Join(dir, "my root fs")
	require.NoError(t, engine.CopyTree(env.Base, spaces))
	tooMany := strconv.Itoa(runtime.NumCPU() + 1)

	cases := []struct {
		name   string
		argv   []string
		exit   int
		stderr string // a part of the one error line; "" for a run that succeeds
		stdout string // for runs that succeed
	}{
		{"empty", []string{}, 2, "missing subcommand", ""},
		{"unknown subcommand", []string{"frobnicate"}, 2, `unknown subcommand "frobnicate"`, ""},
		{"run alone", []string{"run"}, 2, "missing command to run", ""},
		{"unknown flag", []string{"run", "--bogus", "/bin/true"}, 2, "flag provided but not defined: -bogus", ""},
		{"flag without value", []string{"run", "--cpus"}, 2, "flag needs an argument: -cpus", ""},
		{"negative cpus", []string{"run", "--cpus", "-1", "/bin/true"}, 2, "below the minimum of 0.01", ""},
		{"huge cpus", []string{"run", "--cpus", "1e300", "/bin/true"}, 2, "more than the", ""},
		{"too many cpus", []string{"run", "--cpus", tooMany, "/bin/true"}, 2, "more than the", ""},
		{"NaN cpus", []string{"run", "--cpus", "NaN", "/bin/true"}, 2, "is not a number of CPUs", ""},
		{"empty cpus", []string{"run", "--cpus=", "/bin/true"}, 2, "is not a number of CPUs", ""},
		{"empty hostname", []string{"run", "--hostname", "", "/bin/true"}, 2, "must be 1 to 64 bytes", ""},
		{"rootfs is a file", []string{"run", "--rootfs", file, "/bin/true"}, 125, "is not a directory", ""},
		{"rootfs symlink loop", []string{"run", "--rootfs", loop, "/bin/true"}, 125, "too many levels of symbolic links", ""},
		{"rootfs missing", []string{"run", "--rootfs", filepath.Join(dir, "nope"), "/bin/true"}, 125, `run "make rootfs"`, ""},
		{"rootfs with spaces", []string{"run", "--rootfs", spaces, "/bin/echo", "hi"}, 0, "", "hi\n"},
		{"args that look like flags", []string{"run", "/bin/echo", "--cpus", "-1", "--rootfs", "x", "--"}, 0, "", "--cpus -1 --rootfs x --\n"},
		{"double dash", []string{"run", "--", "/bin/echo", "--hostname"}, 0, "", "--hostname\n"},
		{"command not found", []string{"run", "/no/such/command"}, 127, "not found", ""},
		{"command is a directory", []string{"run", "/etc"}, 126, "cannot execute", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			underGuard(t, env, func() {
				res, err := env.Run(engine.Invocation{Argv: c.argv})
				require.NoError(t, err)
				assert.Equal(t, c.exit, res.Exit, res.Describe())
				if c.stderr != "" {
					assertOneErrorLine(t, res, c.stderr)
				} else {
					assert.Equal(t, c.stdout, res.Stdout)
					assert.Empty(t, strings.TrimSpace(res.Stderr))
				}
				requireNoCgroups(t, env, "after the run")
			})
		})
	}
}
