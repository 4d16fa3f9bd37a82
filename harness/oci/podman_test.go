package oci

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPodman drives each runtime through podman and conmon: a run whose
// exit status must come back, then a detached container that is listed,
// exec'd into, stopped (its init's TERM trap gives the status) and
// removed.
func TestPodman(t *testing.T) {
	for _, rt := range Runtimes() {
		t.Run(rt.Name, func(t *testing.T) {
			e := newClientEnv(t, rt, "podman", "conmon")
			p := Podman{State: e.dir + "/podman", Runtime: e.runtime, CgroupParent: "/" + e.cgroup.Name}
			runArgs := func(extra ...string) []string {
				args := append([]string{"run"}, extra...)
				args = append(args, p.RunFlags()...)
				return p.Args(append(args, "--rootfs", e.rootfs)...)
			}

			r := e.run(t, append(runArgs("--rm"), "/bin/sh", "-c", "echo hello from $(hostname); exit 3")...)
			assert.Equal(t, 3, r.Exit, "the container's exit status, passed through\n%s", r)
			assert.Contains(t, r.Stdout, "hello from", "the container's stdout\n%s", r)

			// TERM ends the sleep's wait and the trap exits 7: a stop
			// that reaches the container shows as status 7, not 137.
			r = e.ok(t, append(runArgs("-d", "--name", "c1"), "/bin/sh", "-c", "trap 'exit 7' TERM; sleep 1000 & wait")...)
			id := strings.TrimSpace(r.Stdout)
			require.NotEmpty(t, id, "podman run -d prints the container's id")

			r = e.ok(t, p.Args("ps", "--format", "{{.Names}} {{.Status}}")...)
			assert.Contains(t, r.Stdout, "c1 Up", "podman ps lists the running container\n%s", r)

			r = e.run(t, p.Args("exec", "c1", "/bin/sh", "-c", "echo in c1; exit 4")...)
			assert.Equal(t, 4, r.Exit, "exec's exit status, passed through\n%s", r)
			assert.Contains(t, r.Stdout, "in c1", "exec's stdout\n%s", r)

			e.ok(t, p.Args("stop", "-t", "20", "c1")...)
			r = e.ok(t, p.Args("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "c1")...)
			assert.Equal(t, "exited 7", strings.TrimSpace(r.Stdout), "stop sent TERM to the container's init\n%s", r)

			e.ok(t, p.Args("rm", "c1")...)
			r = e.ok(t, p.Args("ps", "-a", "-q")...)
			assert.Empty(t, strings.TrimSpace(r.Stdout), "no container left after rm\n%s", r)
			assert.Empty(t, e.cgroupsUnder(t), "no process left in a cgroup podman made")
		})
	}
}
