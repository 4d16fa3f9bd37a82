package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The bundle's config.json, written with the runtime spec's own Go
// types: only the fields runc, crun and step 11 need to run /bin/true
// with the namespaces of step 05.

// OCIOptions is what varies between bundles (also make stress's, in
// harness/oci).
type OCIOptions struct {
	Rootfs     string   // absolute path of the root filesystem
	Args       []string // the container's command
	CgroupPath string   // e.g. /stepbox-bench-runc-1234; "" lets the runtime choose
	CPUs       float64  // CPU quota in CPUs like step 05's --cpus; 0 sets none
}

// cpuPeriod matches step 05: quota and period in microseconds.
const cpuPeriod = 100000

// newOCISpec builds a config with the same isolation as step 05: new
// UTS, PID, mount and IPC namespaces (the network namespace is shared,
// as in the steps), a fresh /proc and a tmpfs /dev (the runtime fills in
// the standard devices), and, like step 05's cgroup, a CPU quota. No
// terminal: stdio are the bench's, as for every other row.
func newOCISpec(o OCIOptions) specs.Spec {
	spec := specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Args: o.Args,
			Env:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			Cwd:  "/",
		},
		Root:     &specs.Root{Path: o.Rootfs},
		Hostname: "bench",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}, {Type: specs.UTSNamespace}, {Type: specs.IPCNamespace},
			},
			CgroupsPath: o.CgroupPath,
		},
	}
	if o.CPUs > 0 {
		quota, period := int64(o.CPUs*cpuPeriod), uint64(cpuPeriod)
		spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: &quota, Period: &period}}
	}
	return spec
}

// WriteBundle makes dir an OCI bundle: dir/config.json. The rootfs stays
// where it is (root.path is absolute), so every runtime shares one copy.
func WriteBundle(dir string, o OCIOptions) error {
	if !filepath.IsAbs(o.Rootfs) {
		return fmt.Errorf("bundle %s: rootfs %q must be absolute", dir, o.Rootfs)
	}
	data, err := json.MarshalIndent(newOCISpec(o), "", "  ")
	if err != nil {
		return fmt.Errorf("encoding config.json: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating bundle %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		return fmt.Errorf("writing bundle %s: %w", dir, err)
	}
	return nil
}
