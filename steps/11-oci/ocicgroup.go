//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The container's cgroup is linux.cgroupsPath ("/default/ID" from
// containerd, "/libpod_parent/libpod-ID" from podman), or stepbox-ID
// when the config gives none, under the root of every hierarchy the
// container needs: the cgroup v2 one (the unified hierarchy, whole on a
// v2 host, beside v1 on a hybrid one) and the v1 hierarchies of the
// cpu, memory and pids controllers. Each limit of linux.resources is
// written where its controller is: v1 if a v1 hierarchy has it, else
// v2. (Step 05 did this for cpu alone.)

// hierarchy is one mounted cgroup hierarchy.
type hierarchy struct {
	mount string
	v2    bool
	has   []string // its controllers
}

// v1Controllers are the v1 hierarchies a container joins.
var v1Controllers = []string{"cpu", "cpuset", "memory", "pids", "devices"}

// cgroupHierarchies lists the hierarchies the container joins, from
// /proc/self/mountinfo (see step 05's findCPUHierarchy for the format).
func cgroupHierarchies() ([]hierarchy, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("cannot read the mount table: %w", err)
	}
	var list []hierarchy
	for _, line := range strings.Split(string(data), "\n") {
		mount, filesystem, ok := strings.Cut(line, " - ")
		mf, ff := strings.Fields(mount), strings.Fields(filesystem)
		if !ok || len(mf) < 5 || len(ff) < 3 || slices.ContainsFunc(list, func(h hierarchy) bool { return h.mount == mf[4] }) {
			continue
		}
		switch opts := strings.Split(ff[2], ","); ff[0] {
		case "cgroup":
			if slices.ContainsFunc(v1Controllers, func(c string) bool { return slices.Contains(opts, c) }) {
				list = append(list, hierarchy{mount: mf[4], has: opts})
			}
		case "cgroup2":
			ctrl, _ := os.ReadFile(filepath.Join(mf[4], "cgroup.controllers"))
			list = append(list, hierarchy{mount: mf[4], v2: true, has: strings.Fields(string(ctrl))})
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no cgroup hierarchy is mounted: mount cgroup2 on /sys/fs/cgroup")
	}
	return list, nil
}

// cgroupPathOf is the container's cgroup path inside each hierarchy.
func cgroupPathOf(spec *specs.Spec, id string) (string, error) {
	p := spec.Linux.CgroupsPath
	if p == "" {
		return "/stepbox-" + id, nil
	}
	if strings.Contains(p, ":") {
		return "", fmt.Errorf("linux.cgroupsPath %q is a systemd slice: stepbox writes cgroupfs paths like /default/ID", p)
	}
	return filepath.Clean("/" + p), nil
}

// containerCgroups is where the container's cgroups are.
type containerCgroups struct {
	path string      // the same in every hierarchy
	list []hierarchy // the hierarchies; none when not root
}

// setupCgroups creates the container's cgroups, before the init exists:
// it is born in the v2 one and moves itself into the others
// (cgroupJoin). Their limits come once it is cloned (writeLimits). It
// returns the cgroup directories and, of those and their parents, the
// ones it created, which are the only ones delete will remove.
func setupCgroups(spec *specs.Spec, id string) (cgs containerCgroups, dirs, made []string, err error) {
	if os.Geteuid() != 0 {
		ociWarn("not root, so no cgroup: linux.resources is not applied")
		return cgs, nil, nil, nil
	}
	if cgs.path, err = cgroupPathOf(spec, id); err != nil {
		return cgs, nil, nil, err
	}
	list, err := cgroupHierarchies()
	if err != nil {
		return cgs, nil, nil, err
	}
	for _, h := range list {
		if !h.v2 && slices.Contains(h.has, "cpuset") && !slices.Contains(h.has, "cpu") && !wantsCpuset(spec) {
			continue // the v1 cpuset hierarchy only when asked: see inheritCpuset
		}
		dir := filepath.Join(h.mount, cgs.path)
		created, err := mkdirAllRecorded(h.mount, dir)
		made = append(made, created...)
		if err == nil && !h.v2 && slices.Contains(h.has, "cpuset") {
			err = inheritCpuset(h.mount, dir)
		}
		if err != nil {
			return cgs, dirs, made, err
		}
		dirs = append(dirs, dir)
	}
	cgs.list = list
	return cgs, dirs, made, nil
}

// writeLimits writes linux.resources and the device rules into the
// container's cgroups. It runs while the init's Go runtime starts, off
// the path create waits on: the init runs nothing of the container's
// until create has written them and sent "go".
func (cgs containerCgroups) writeLimits(res *specs.LinuxResources) error {
	if len(cgs.list) == 0 {
		return nil
	}
	if err := writeResources(cgs.list, cgs.path, res); err != nil {
		return err
	}
	return applyDeviceRules(cgs.list, cgs.path, res)
}

// cgroupJoin is how the init is born in its cgroups, so that nobody
// writes its PID to a cgroup.procs, which takes a lock every fork and
// exit reads and can wait for an RCU grace period (step 05's "Why it is
// fast"). In the v2 hierarchy: clone3's CLONE_INTO_CGROUP (Go's
// SysProcAttr.UseCgroupFD) with the cgroup's directory. v1 has no such
// flag, but a child starts in the cgroups of the thread that forks it,
// and a thread that moves only itself (0 written to tasks) takes no
// global lock. So the thread that clones the init joins the v1 cgroups
// first (joinThread); it is a thread of its own, which ends right after
// the clone (startInNamespaces), so create itself never stays in them.
// The child of "run" cannot do that: Pdeathsig ties it to the thread
// that forked it, for its whole life; the OCI init has no Pdeathsig, as
// it outlives create.
type cgroupJoin struct {
	v2    *os.File   // the v2 cgroup's directory; nil without one
	tasks []*os.File // each v1 cgroup's tasks, open for writing
}

// openCgroupJoin opens what cgroupJoin holds, for each cgroup in dirs:
// a v1 cgroup has a tasks file, a v2 one has none.
func openCgroupJoin(dirs []string) (*cgroupJoin, error) {
	j := &cgroupJoin{}
	for _, dir := range dirs {
		tasks, err := os.OpenFile(filepath.Join(dir, "tasks"), os.O_WRONLY, 0)
		if errors.Is(err, fs.ErrNotExist) && j.v2 == nil {
			j.v2, err = os.Open(dir)
		}
		if err != nil {
			j.close()
			return nil, fmt.Errorf("cannot open the cgroup %s: %w", dir, err)
		}
		if tasks != nil {
			j.tasks = append(j.tasks, tasks)
		}
	}
	return j, nil
}

// joinThread moves the calling thread, alone, into each v1 cgroup.
func (j *cgroupJoin) joinThread() error {
	for _, f := range j.tasks {
		if _, err := f.Write(joinSelf); err != nil {
			return fmt.Errorf("cannot join the container's cgroup: %w", err)
		}
	}
	return nil
}

// bornIn makes the init start in the v2 cgroup, if there is one.
func (j *cgroupJoin) bornIn(sys *syscall.SysProcAttr) {
	if j.v2 != nil {
		sys.UseCgroupFD, sys.CgroupFD = true, int(j.v2.Fd())
	}
}

// close closes the files, once the init is born.
func (j *cgroupJoin) close() {
	if j.v2 != nil {
		j.v2.Close()
	}
	for _, f := range j.tasks {
		f.Close()
	}
}

// mkdirAllRecorded makes dir and its missing parents below root, and
// says which it made.
func mkdirAllRecorded(root, dir string) ([]string, error) {
	var missing []string
	for d := dir; d != root && d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
	}
	var made []string
	for _, d := range missing {
		if err := os.Mkdir(d, 0o755); err != nil {
			return made, fmt.Errorf("cannot create cgroup %s: %w", d, err)
		}
		made = append(made, d)
	}
	return made, nil
}

// writeResources writes linux.resources: cpu, memory and pids.
func writeResources(list []hierarchy, path string, res *specs.LinuxResources) error {
	if res == nil {
		return nil
	}
	for _, w := range resourceWrites(res) {
		h, ok := controllerHierarchy(list, w.controller)
		if !ok {
			return fmt.Errorf("linux.resources sets %s, but no cgroup hierarchy here has the %s controller", w.file(false), w.controller)
		}
		dir := filepath.Join(h.mount, path)
		if h.v2 && w.v2File == "" {
			continue // nothing to write on v2
		}
		if h.v2 {
			if err := enableController(h.mount, dir, w.controller); err != nil {
				return err
			}
		}
		if err := writeFile(filepath.Join(dir, w.file(h.v2)), w.value(h.v2)); err != nil {
			return err
		}
	}
	return nil
}

// controllerHierarchy finds where a controller is: v1 first, the way a
// hybrid host splits them.
func controllerHierarchy(list []hierarchy, controller string) (hierarchy, bool) {
	for _, v2 := range []bool{false, true} {
		for _, h := range list {
			if h.v2 == v2 && slices.Contains(h.has, controller) {
				return h, true
			}
		}
	}
	return hierarchy{}, false
}

// enableController lets dir use a v2 controller: every cgroup from the
// root down to dir's parent must list it in cgroup.subtree_control.
func enableController(root, dir, controller string) error {
	var parents []string
	for d := filepath.Dir(dir); strings.HasPrefix(d, root); d = filepath.Dir(d) {
		parents = append([]string{d}, parents...)
		if d == root {
			break
		}
	}
	for _, d := range parents {
		if !hasController(d, "cgroup.subtree_control", controller) {
			if err := writeFile(filepath.Join(d, "cgroup.subtree_control"), "+"+controller); err != nil {
				return err
			}
		}
	}
	return nil
}

// removeCgroups kills what is left in the container's cgroups, removes
// them, then the parents create made, deepest first. A parent another
// container still uses is busy, and stays.
func removeCgroups(r *record) {
	for _, dir := range r.Cgroups {
		killCgroup(dir)
		_ = (&cgroup{dir: dir}).remove()
	}
	for i := len(r.Created) - 1; i >= 0; i-- {
		_ = unix.Rmdir(r.Created[i])
	}
}

// killCgroup SIGKILLs every process in a cgroup and waits, up to a
// second, for them to be gone.
func killCgroup(dir string) {
	for range 100 {
		pids := cgroupPids(dir)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cgroupPids lists the processes in a cgroup.
func cgroupPids(dir string) []int {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// wantsCpuset reports whether config.json restricts CPUs or memory nodes.
func wantsCpuset(spec *specs.Spec) bool {
	r := spec.Linux.Resources
	return r != nil && r.CPU != nil && (r.CPU.Cpus != "" || r.CPU.Mems != "")
}

// inheritCpuset fills every empty v1 cpuset cgroup on the way from the
// hierarchy's root to dir with its parent's CPUs and memory nodes, top
// down. A v1 cpuset cgroup starts empty, and the kernel refuses a
// process in a cgroup with no CPU to run on (ENOSPC). As runc does, an
// empty parent the engine made (containerd's /default) is filled too:
// it could hold no process as it was.
func inheritCpuset(root, dir string) error {
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		return err
	}
	d := root
	for _, part := range strings.Split(rel, "/") {
		parent := d
		d = filepath.Join(d, part)
		for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
			mine, _ := os.ReadFile(filepath.Join(d, file))
			if strings.TrimSpace(string(mine)) != "" {
				continue
			}
			value, err := os.ReadFile(filepath.Join(parent, file))
			if err != nil {
				return fmt.Errorf("cannot read the parent's %s: %w", file, err)
			}
			if err := writeFile(filepath.Join(d, file), strings.TrimSpace(string(value))); err != nil {
				return err
			}
		}
	}
	return nil
}

// applyDeviceRules writes linux.resources.devices where a v1 devices
// controller is; on a v2-only host it logs that they are not enforced.
func applyDeviceRules(list []hierarchy, path string, res *specs.LinuxResources) error {
	if res == nil || len(res.Devices) == 0 {
		return nil
	}
	for _, h := range list {
		if !h.v2 && slices.Contains(h.has, "devices") {
			return writeDeviceRules(filepath.Join(h.mount, path), res.Devices)
		}
	}
	ociWarn("linux.resources.devices is not enforced: no cgroup v1 devices controller here (v2 needs a BPF program)")
	return nil
}
