package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// A minimal subset of the OCI runtime spec (config.json), written by hand
// so the bench needs no new module: only the fields runc and crun need to
// run /bin/true with the namespaces of step 05.

type ociSpec struct {
	OCIVersion string     `json:"ociVersion"`
	Process    ociProcess `json:"process"`
	Root       ociRoot    `json:"root"`
	Hostname   string     `json:"hostname"`
	Mounts     []ociMount `json:"mounts"`
	Linux      ociLinux   `json:"linux"`
}

type ociProcess struct {
	Terminal bool     `json:"terminal"`
	User     ociUser  `json:"user"`
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
}

type ociUser struct {
	UID int `json:"uid"`
	GID int `json:"gid"`
}

type ociRoot struct {
	Path     string `json:"path"`
	Readonly bool   `json:"readonly"`
}

type ociMount struct {
	Destination string   `json:"destination"`
	Type        string   `json:"type"`
	Source      string   `json:"source"`
	Options     []string `json:"options,omitempty"`
}

type ociLinux struct {
	Namespaces  []ociNamespace `json:"namespaces"`
	CgroupsPath string         `json:"cgroupsPath,omitempty"`
	Resources   *ociResources  `json:"resources,omitempty"`
}

type ociNamespace struct {
	Type string `json:"type"`
}

type ociResources struct {
	CPU *ociCPU `json:"cpu,omitempty"`
}

type ociCPU struct {
	Quota  int64  `json:"quota"`
	Period uint64 `json:"period"`
}

// ociOptions is what varies between bundles.
type ociOptions struct {
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
func newOCISpec(o ociOptions) ociSpec {
	spec := ociSpec{
		OCIVersion: "1.0.2",
		Process: ociProcess{
			Args: o.Args,
			Env:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			Cwd:  "/",
		},
		Root:     ociRoot{Path: o.Rootfs},
		Hostname: "bench",
		Mounts: []ociMount{
			{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		},
		Linux: ociLinux{
			Namespaces: []ociNamespace{
				{Type: "pid"}, {Type: "mount"}, {Type: "uts"}, {Type: "ipc"},
			},
			CgroupsPath: o.CgroupPath,
		},
	}
	if o.CPUs > 0 {
		spec.Linux.Resources = &ociResources{CPU: &ociCPU{
			Quota:  int64(o.CPUs * cpuPeriod),
			Period: cpuPeriod,
		}}
	}
	return spec
}

// writeBundle makes dir an OCI bundle: dir/config.json. The rootfs stays
// where it is (root.path is absolute), so every runtime shares one copy.
func writeBundle(dir string, o ociOptions) error {
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
