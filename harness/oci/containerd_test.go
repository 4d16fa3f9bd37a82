package oci

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// imageRef names the image made offline from the busybox rootfs.
const imageRef = "localhost/stepbox-busybox:1"

// TestContainerd drives each runtime through a private containerd and
// containerd-shim-runc-v2: an image imported offline, a run whose exit
// status must come back, then a detached task that is exec'd into,
// killed and removed.
func TestContainerd(t *testing.T) {
	for _, rt := range Runtimes() {
		t.Run(rt.Name, func(t *testing.T) {
			e := newClientEnv(t, rt, "containerd", "ctr", "containerd-shim-runc-v2")
			archive := filepath.Join(e.dir, "busybox.oci.tar")
			require.NoError(t, WriteImageArchive(archive, e.rootfs, imageRef, []string{"/bin/sh"}))

			c, err := e.sb.StartContainerd(filepath.Join(e.dir, "containerd"))
			require.NoError(t, err)
			t.Cleanup(c.Stop)
			defer func() {
				if t.Failed() {
					t.Logf("containerd's log:\n%s", c.Log())
				}
			}()

			e.ok(t, c.Ctr("images", "import", archive)...)
			r := e.ok(t, c.Ctr("images", "ls", "-q")...)
			require.Contains(t, r.Stdout, imageRef, "the imported image\n%s", r)

			runFlags := func(id string) []string {
				return []string{"--runc-binary", e.runtime, "--cgroup", "/" + e.cgroup.Name + "/" + id}
			}
			args := append(append([]string{"run", "--rm"}, runFlags("c1")...), imageRef, "c1", "/bin/sh", "-c", "echo hello; exit 3")
			r = e.run(t, c.Ctr(args...)...)
			assert.Equal(t, 3, r.Exit, "the task's exit status, passed through\n%s", r)
			assert.Contains(t, r.Stdout, "hello", "the task's stdout\n%s", r)

			args = append(append([]string{"run", "-d"}, runFlags("c2")...), imageRef, "c2", "/bin/sh", "-c", "trap 'exit 7' TERM; sleep 1000 & wait")
			e.ok(t, c.Ctr(args...)...)
			require.Eventually(t, func() bool { return taskStatus(e, t, c, "c2") == "RUNNING" }, 20*time.Second, 100*time.Millisecond,
				"the detached task runs")

			r = e.run(t, c.Ctr("tasks", "exec", "--exec-id", "e1", "c2", "/bin/sh", "-c", "echo in c2; exit 4")...)
			assert.Equal(t, 4, r.Exit, "task exec's exit status, passed through\n%s", r)
			assert.Contains(t, r.Stdout, "in c2", "task exec's stdout\n%s", r)

			// SIGTERM: only a signal that reaches the init's trap stops it.
			e.ok(t, c.Ctr("tasks", "kill", "c2")...)
			assert.Eventually(t, func() bool { return taskStatus(e, t, c, "c2") == "STOPPED" }, 20*time.Second, 100*time.Millisecond,
				"the task stops after kill (TERM)")

			e.ok(t, c.Ctr("tasks", "rm", "c2")...)
			e.ok(t, c.Ctr("containers", "rm", "c2")...)
			r = e.ok(t, c.Ctr("containers", "ls", "-q")...)
			assert.Empty(t, strings.TrimSpace(r.Stdout), "no container left after rm\n%s", r)
			assert.Empty(t, e.cgroupsUnder(t), "no process left in a cgroup containerd made")
		})
	}
}

// taskStatus is a task's STATUS column in `ctr tasks ls`, or "".
func taskStatus(e *clientEnv, t *testing.T, c *Containerd, id string) string {
	r, err := e.sb.Run(c.Ctr("tasks", "ls")...)
	if err != nil || r.Exit != 0 {
		return ""
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}
