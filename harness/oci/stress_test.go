//go:build stress

package oci

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStressRunBundle runs one bundle 1000 times in a row with `run
// --bundle`, on each runtime, with a CPU quota, each container in its own
// cgroup under the test's parent. Every run must exit 0, and nothing may
// be left: no cgroup with a process under the parent, and the guard and
// leftovers checks of newClientEnv. A runtime that leaves a thread of its
// own in the container's cgroups is killed by its own delete now and then
// (step 11 was, in about one run in a hundred, when the thread that
// joined them could be the main thread: 8 or more of these 1000 failed
// then, and 0 of 300 in one try): only many runs show it. It runs under
// `make stress` (-tags stress).
func TestStressRunBundle(t *testing.T) {
	const runs = 1000
	for _, rt := range Runtimes() {
		t.Run(rt.Name, func(t *testing.T) {
			e := newClientEnv(t, rt)
			bundle := filepath.Join(e.dir, "bundle")
			writeStressBundle(t, bundle, e.rootfs, "/"+e.cgroup.Name+"/stress")
			root := filepath.Join(e.dir, "state")
			var failed []string
			for i := range runs {
				r, err := e.sb.Run(e.runtime, "--root", root, "run", "--bundle", bundle, fmt.Sprintf("stress-%d", i))
				require.NoError(t, err)
				if r.Exit != 0 {
					failed = append(failed, fmt.Sprintf("run %d: %s", i, r))
				}
			}
			assert.Empty(t, failed, "%d of %d runs failed", len(failed), runs)
			assert.Empty(t, e.cgroupsUnder(t), "cgroups still holding processes")
		})
	}
}

// writeStressBundle writes a bundle that runs /bin/true in new PID,
// mount, UTS and IPC namespaces with half a CPU, in cgroup cgroupsPath.
func writeStressBundle(t *testing.T, dir, rootfs, cgroupsPath string) {
	t.Helper()
	quota, period := int64(50000), uint64(100000)
	spec := specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{Args: []string{"/bin/true"}, Env: []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, Cwd: "/"},
		Root:    &specs.Root{Path: rootfs},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
			},
			CgroupsPath: cgroupsPath,
			Resources:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: &quota, Period: &period}},
		},
	}
	data, err := json.Marshal(spec)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644))
}
