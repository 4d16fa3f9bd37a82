package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// HostState is what must be the same before and after a bench run on a
// shared machine: the number of mounts and the stepbox cgroups.
type HostState struct {
	Mounts  int      `json:"mountinfo_lines"`
	Cgroups []string `json:"stepbox_cgroups"`
}

// snapshotHost reads the host's state from the bench's own (host) mount
// namespace: the main thread is never the namespaced crun thread.
func snapshotHost() HostState {
	var s HostState
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		s.Mounts = strings.Count(string(data), "\n")
	}
	s.Cgroups = stepboxCgroups()
	return s
}

// stepboxCgroups lists /sys/fs/cgroup/*/stepbox* (v1 hierarchies and a
// hybrid host's unified one) and /sys/fs/cgroup/stepbox* (pure v2).
func stepboxCgroups() []string {
	a, _ := filepath.Glob("/sys/fs/cgroup/*/stepbox*")
	b, _ := filepath.Glob("/sys/fs/cgroup/stepbox*")
	list := append(a, b...)
	slices.Sort(list)
	return list
}

// removeOwnCgroups removes cgroups the bench's runc and crun rows left
// (named for this process), deepest first; rmdir fails harmlessly on a
// cgroup that still has processes. It never touches other cgroups.
func removeOwnCgroups() []string {
	var removed []string
	for _, dir := range slices.Backward(stepboxCgroups()) {
		if !strings.Contains(filepath.Base(dir), fmt.Sprintf("-%d", pid)) || !strings.HasPrefix(filepath.Base(dir), "stepbox-bench-") {
			continue
		}
		if err := os.Remove(dir); err == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// hostDiff describes what changed between two snapshots, "" if nothing.
func hostDiff(before, after HostState) string {
	var msgs []string
	if before.Mounts != after.Mounts {
		msgs = append(msgs, fmt.Sprintf("mountinfo lines %d -> %d", before.Mounts, after.Mounts))
	}
	for _, c := range after.Cgroups {
		if !slices.Contains(before.Cgroups, c) {
			msgs = append(msgs, "new cgroup "+c)
		}
	}
	return strings.Join(msgs, "; ")
}
