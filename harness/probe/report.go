// Package probe describes what a process can see of its world: the report
// the probe binary prints from inside a container, and the code that
// gathers it. The harness compares a report with the host's view.
package probe

import (
	"encoding/json"
	"fmt"
)

// Report is one JSON line printed by `probe report`.
type Report struct {
	Hostname   string            `json:"hostname"`
	PID        int               `json:"pid"`
	PPID       int               `json:"ppid"`
	UID        int               `json:"uid"`
	GID        int               `json:"gid"`
	UIDMap     string            `json:"uid_map,omitempty"`
	GIDMap     string            `json:"gid_map,omitempty"`
	Namespaces map[string]string `json:"namespaces"`
	ProcPIDs   []int             `json:"proc_pids"`
	Mounts     []Mount           `json:"mounts"`
	RootDir    []string          `json:"root_entries"`
	Cgroups    []CgroupLine      `json:"cgroups"`
	Caps       map[string]string `json:"capabilities,omitempty"`
	Seccomp    string            `json:"seccomp,omitempty"`
	NoNewPrivs string            `json:"no_new_privs,omitempty"`
	Interfaces []string          `json:"interfaces"`
	DevNull    string            `json:"dev_null"`
	Exists     map[string]bool   `json:"exists,omitempty"`
	Files      map[string]string `json:"files,omitempty"`
	Burn       *Burn             `json:"burn,omitempty"`
	// Network and user-namespace facts (steps 06 and 07).
	Links          []Link            `json:"links,omitempty"`
	DefaultGateway string            `json:"default_gateway,omitempty"`
	Serving        string            `json:"serving,omitempty"`   // the address --serve listens on
	Connected      map[string]string `json:"connected,omitempty"` // --connect address: "ok" or the error
	Writable       map[string]string `json:"writable,omitempty"`  // --writable path: "allowed" or the error
	Created        map[string]string `json:"created,omitempty"`   // --create path: "ok" or the error
	// Step 10: what the masked paths read, and how each attack ended.
	Peeked  map[string]string `json:"peeked,omitempty"`  // --peek path: "empty", "read N bytes", "absent" or the error
	Attacks map[string]string `json:"attacks,omitempty"` // --attacks: attack name: "ok" or the error's name
	// Step 05: what the command was given: the file descriptors open and
	// the cgroups it was in when it started, and the signals it ignores
	// (SigIgn of /proc/self/status, a hex mask).
	FDsAtStart     []int        `json:"fds_at_start,omitempty"`
	CgroupsAtStart []CgroupLine `json:"cgroups_at_start,omitempty"`
	SigIgn         string       `json:"sig_ign,omitempty"`
	// Step 04: where a host file was still reachable (--escape).
	Escape *Escape `json:"escape,omitempty"`
	// Problems lists what the probe could not read, e.g. a missing /proc.
	Problems []string `json:"problems,omitempty"`
}

// Burn is the CPU the probe used while spinning on every CPU it could see.
type Burn struct {
	Threads     int     `json:"threads"`
	WallSeconds float64 `json:"wall_seconds"`
	CPUSeconds  float64 `json:"cpu_seconds"`
}

// CPUs is the average number of CPUs the burn got: CPU time over wall time.
func (b Burn) CPUs() float64 {
	if b.WallSeconds == 0 {
		return 0
	}
	return b.CPUSeconds / b.WallSeconds
}

// CgroupLine is one line of /proc/self/cgroup: "ID:controllers:path".
type CgroupLine struct {
	ID          string `json:"id"`
	Controllers string `json:"controllers"`
	Path        string `json:"path"`
}

// Parse reads a report from the probe's JSON output line.
func Parse(line []byte) (*Report, error) {
	var r Report
	if err := json.Unmarshal(line, &r); err != nil {
		return nil, fmt.Errorf("probe report is not valid JSON: %w", err)
	}
	return &r, nil
}

// HasMountAt reports whether any mount sits on the given mount point.
func (r *Report) HasMountAt(point string) bool {
	for _, m := range r.Mounts {
		if m.Point == point {
			return true
		}
	}
	return false
}
