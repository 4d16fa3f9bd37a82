package oci

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/stepbox/stepbox/harness/fsutil"
)

// CgroupParent is a cgroup the test makes in every hierarchy for a
// client to put its containers (and conmon) under, instead of the
// libpod_parent and default cgroups they would leave at the top.
type CgroupParent struct {
	Name  string   // "stepbox-oci-1a2b3c4d": a stepbox cgroup, so the host guard watches it
	Paths []string // the directory in each hierarchy
}

// cgroupRoots are the mount points of every cgroup hierarchy.
func cgroupRoots() []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var roots []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		sep := strings.Index(line, " - ")
		if len(fields) < 5 || sep < 0 {
			continue
		}
		if t := strings.Fields(line[sep+3:])[0]; t == "cgroup" || t == "cgroup2" {
			roots = append(roots, fields[4])
		}
	}
	slices.Sort(roots)
	return slices.Compact(roots)
}

// NewCgroupParent makes a fresh cgroup in every hierarchy.
func NewCgroupParent() (*CgroupParent, error) {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	p := &CgroupParent{Name: "stepbox-oci-" + hex.EncodeToString(b)}
	for _, root := range cgroupRoots() {
		dir := filepath.Join(root, p.Name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return p, errors.Join(fmt.Errorf("making cgroup %s: %w", dir, err), p.Remove())
		}
		p.Paths = append(p.Paths, dir)
	}
	if len(p.Paths) == 0 {
		return nil, errors.New("no cgroup hierarchy mounted")
	}
	return p, nil
}

// Remove removes the cgroup and whatever the clients made under it,
// deepest first. It kills nothing: a process still in it is a leak the
// caller reports, and the cgroup is then left for the host guard.
func (p *CgroupParent) Remove() error {
	var errs []error
	for _, top := range p.Paths {
		for _, d := range fsutil.DeepestFirst(top) {
			errs = append(errs, rmdirWait(d))
		}
	}
	return errors.Join(errs...)
}

// rmdirWait removes a cgroup, waiting briefly for exiting tasks.
func rmdirWait(dir string) error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	return fmt.Errorf("removing cgroup %s (processes: %q): %w", dir, strings.Fields(string(procs)), err)
}

// clientPaths are where podman and containerd keep state when not told
// otherwise. The sandbox's private /run hides the /run ones; the others
// must simply never appear.
var clientPaths = []string{
	"/run/containerd", "/run/libpod", "/run/containers", "/run/netns", "/run/runc", "/run/crun",
	"/var/lib/containers", "/var/lib/containerd", "/opt/containerd", "/etc/containerd/config.toml",
}

// HostLeftovers is what a client run could leave on the host that the
// harness's guard does not look at: its state paths, top-level cgroups
// (libpod_parent, default) and its daemons.
type HostLeftovers struct {
	Paths     []string
	Cgroups   []string
	Processes []string
}

// clientDaemons are the names of the processes the clients start.
var clientDaemons = []string{"podman", "conmon", "containerd", "containerd-shim", "containerd-shim-runc-v2", "ctr"}

// SnapshotLeftovers reads the host's state paths, top-level cgroups
// and client processes.
func SnapshotLeftovers() HostLeftovers {
	var s HostLeftovers
	for _, p := range clientPaths {
		if _, err := os.Lstat(p); err == nil {
			s.Paths = append(s.Paths, p)
		}
	}
	for _, root := range cgroupRoots() {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			// stepbox's own cgroups are the host guard's to watch.
			if e.IsDir() && !strings.HasPrefix(e.Name(), "stepbox") {
				s.Cgroups = append(s.Cgroups, filepath.Join(root, e.Name()))
			}
		}
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if err != nil {
			continue
		}
		if name := strings.TrimSpace(string(comm)); slices.Contains(clientDaemons, name) {
			s.Processes = append(s.Processes, e.Name()+" "+name)
		}
	}
	return s
}

// Since lists what is in s and was not in before, one line each.
func (s HostLeftovers) Since(before HostLeftovers) []string {
	var out []string
	add := func(kind string, now, then []string) {
		for _, x := range now {
			if !slices.Contains(then, x) {
				out = append(out, kind+" "+x)
			}
		}
	}
	add("path", s.Paths, before.Paths)
	add("cgroup", s.Cgroups, before.Cgroups)
	add("process", s.Processes, before.Processes)
	return out
}
