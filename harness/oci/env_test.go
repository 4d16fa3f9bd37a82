package oci

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

func TestMain(m *testing.M) {
	code := m.Run()
	_ = engine.RemoveBuilds()
	os.Exit(code)
}

// clientEnv is one client test's world: a sandbox, a cgroup parent, a
// scratch directory with a copy of the rootfs, the runtime's path.
type clientEnv struct {
	sb      *Sandbox
	cgroup  *CgroupParent
	dir     string
	rootfs  string
	runtime string
}

// newClientEnv sets a client test up in the shape of the other
// privileged tests: the host guard around it, and on top of the guard,
// proof that the clients left nothing the guard does not look at.
func newClientEnv(t *testing.T, rt Runtime, clients ...string) *clientEnv {
	t.Helper()
	engine.RequirePrivileged(t)
	RequireTools(t, append(clients, "nsenter")...)
	runtime := RuntimePath(t, rt)
	base, err := engine.BaseRootfs()
	require.NoError(t, err)

	guard, err := engine.StartGuard(base)
	require.NoError(t, err)
	before := SnapshotLeftovers()
	t.Cleanup(func() {
		assert.Empty(t, SnapshotLeftovers().Since(before), "the clients left these on the host")
		if diff := guard.Finish(); diff != "" {
			t.Errorf("host guard: %s", diff)
		}
	})

	dir, err := os.MkdirTemp("", "stepbox-oci-")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, os.RemoveAll(dir)) })
	e := &clientEnv{dir: dir, rootfs: filepath.Join(dir, "rootfs"), runtime: runtime}
	require.NoError(t, engine.CopyTree(base, e.rootfs))

	e.cgroup, err = NewCgroupParent()
	require.NoError(t, err)
	t.Cleanup(func() {
		assert.NoError(t, e.cgroup.Remove(), "removing the cgroup parent and what the clients made in it")
	})

	e.sb, err = StartSandbox(rt.HideUnified)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.sb.Close()) })
	return e
}

// run runs argv in the sandbox; only a failure to run fails the test.
func (e *clientEnv) run(t *testing.T, argv ...string) Result {
	t.Helper()
	r, err := e.sb.Run(argv...)
	require.NoError(t, err)
	t.Logf("%s -> %d", strings.Join(argv, " "), r.Exit)
	return r
}

// ok runs argv and requires it to succeed.
func (e *clientEnv) ok(t *testing.T, argv ...string) Result {
	t.Helper()
	r := e.run(t, argv...)
	require.Equal(t, 0, r.Exit, "%s", r)
	return r
}

// cgroupsUnder lists the cgroups under the parent that still hold processes
// (the empty ones, like conmon's, which podman never removes, are fine).
func (e *clientEnv) cgroupsUnder(t *testing.T) []string {
	t.Helper()
	var found []string
	for _, top := range e.cgroup.Paths {
		_ = filepath.WalkDir(top, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && path != top {
				data, _ := os.ReadFile(filepath.Join(path, "cgroup.procs"))
				if strings.TrimSpace(string(data)) != "" {
					found = append(found, path+": "+strings.Join(strings.Fields(string(data)), " "))
				}
			}
			return nil
		})
	}
	return found
}
