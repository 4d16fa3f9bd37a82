package engine

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

	"github.com/stepbox/stepbox/harness/fsutil"
	"github.com/stepbox/stepbox/harness/probe"
)

// The host's side of cgroups: where a container's cpu cgroup lives, what
// quota it has, and how to remove one a broken program left behind.

// hostMounts is the host's mount table (the harness runs in the host's
// mount namespace).
func hostMounts() []probe.Mount {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	mounts, _ := probe.ParseMountinfo(string(data))
	return mounts
}

func hasOption(options, want string) bool {
	return slices.Contains(strings.Split(options, ","), want)
}

// CPUCgroupDir finds, on the host, the directory of the cgroup that
// governs the reported process's CPU: on the v1 cpu hierarchy when the host
// has one (a hybrid host like this one), else on the cgroup2 hierarchy.
func CPUCgroupDir(r *probe.Report) (string, error) {
	if r == nil {
		return "", errors.New("no probe report")
	}
	mounts := hostMounts()
	for _, m := range mounts {
		if m.FSType == "cgroup" && hasOption(m.Options, "cpu") {
			for _, line := range r.Cgroups {
				if hasOption(line.Controllers, "cpu") {
					return filepath.Join(m.Point, line.Path), nil
				}
			}
			return "", fmt.Errorf("no cpu line in the container's /proc/self/cgroup")
		}
	}
	for _, m := range mounts {
		if m.FSType == "cgroup2" {
			for _, line := range r.Cgroups {
				if line.ID == "0" {
					return filepath.Join(m.Point, line.Path), nil
				}
			}
		}
	}
	return "", errors.New("no cgroup hierarchy with the cpu controller on the host")
}

// ReadQuota reads a cgroup's CPU quota as a number of CPUs; 0 means none.
func ReadQuota(dir string) (float64, string, error) {
	if data, err := os.ReadFile(filepath.Join(dir, "cpu.max")); err == nil {
		text := strings.TrimSpace(string(data))
		q, p, _ := strings.Cut(text, " ")
		return ratio(q, p), "cpu.max " + text, nil
	}
	q, err := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
	if err != nil {
		return 0, "", err
	}
	p, err := os.ReadFile(filepath.Join(dir, "cpu.cfs_period_us"))
	if err != nil {
		return 0, "", err
	}
	qs, ps := strings.TrimSpace(string(q)), strings.TrimSpace(string(p))
	return ratio(qs, ps), fmt.Sprintf("cpu.cfs_quota_us %s, cpu.cfs_period_us %s", qs, ps), nil
}

func ratio(quota, period string) float64 {
	q, err1 := strconv.ParseFloat(quota, 64)
	p, err2 := strconv.ParseFloat(period, 64)
	if err1 != nil || err2 != nil || p <= 0 || q < 0 {
		return 0
	}
	return q / p
}

// CgroupPrefix starts the name of every cgroup a stepbox runtime makes,
// directly under a hierarchy's root: stepbox-<runtime PID>-<random>.
const CgroupPrefix = "stepbox-"

// StepboxCgroups lists the cgroups on the host that a stepbox runtime made:
// directories named stepbox-* directly under each hierarchy's root. It
// looks no deeper, so another program's cgroup that merely has "stepbox" in
// its name (a libvirt VM called stepbox, say) is never taken for one: the
// host guard removes what this finds, killing what is inside.
func StepboxCgroups() []string {
	var found []string
	for _, m := range hostMounts() {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		entries, _ := os.ReadDir(m.Point)
		for _, e := range entries {
			if e.IsDir() && strings.HasPrefix(e.Name(), CgroupPrefix) && !strings.HasPrefix(e.Name(), jailPrefix) {
				found = append(found, filepath.Join(m.Point, e.Name()))
			}
		}
	}
	slices.Sort(found)
	return slices.Compact(found)
}

// RemoveCgroup kills whatever is left in a cgroup and removes it, deepest
// first. It is how the harness restores the host after a broken program.
func RemoveCgroup(dir string) error {
	dirs := fsutil.DeepestFirst(dir)
	var errs []error
	for _, d := range dirs {
		if data, err := os.ReadFile(filepath.Join(d, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					_ = syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		errs = append(errs, rmdirRetry(d))
	}
	return errors.Join(errs...)
}

// rmdirRetry removes a cgroup directory, waiting for killed tasks to go.
func rmdirRetry(dir string) error {
	var err error
	for i := 0; i < 100; i++ {
		if err = os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}
