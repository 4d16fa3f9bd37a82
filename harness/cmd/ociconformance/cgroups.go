package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stepbox/stepbox/harness/fsutil"
)

// The suite's cgroup tests make cgroups and do not always remove them:
// "/cgrouptest" for an absolute cgroupsPath, "testdir/cgrouptest/container"
// relative to the runtime's own cgroup; and a runtime given no
// cgroupsPath names one after the container, whose id is a random UUID
// the suite made ("<uuid>", or "stepbox-<uuid>" for step 11). After each
// test, the ones that appeared are removed, and only those.

// suiteCgroupNames are the names the suite's cgroups take.
var suiteCgroupNames = regexp.MustCompile(`^(cgrouptest|testdir|.*[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12})$`)

// cgroupParents are where those cgroups appear: the root of every
// hierarchy, and this process's own cgroup in it.
func cgroupParents() []string {
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	own, _ := os.ReadFile("/proc/self/cgroup")
	var parents []string
	for _, line := range strings.Split(string(mounts), "\n") {
		fields := strings.Fields(line)
		sep := strings.Index(line, " - ")
		if len(fields) < 5 || sep < 0 {
			continue
		}
		after := strings.Fields(line[sep+3:])
		if len(after) < 3 || (after[0] != "cgroup" && after[0] != "cgroup2") {
			continue
		}
		point := fields[4]
		parents = append(parents, point)
		// "4:memory:/a/b": the line whose controllers are this mount's.
		for _, l := range strings.Split(string(own), "\n") {
			parts := strings.SplitN(l, ":", 3)
			if len(parts) == 3 && parts[2] != "/" && sameHierarchy(parts[1], after[0], after[2]) {
				parents = append(parents, filepath.Join(point, parts[2]))
			}
		}
	}
	slices.Sort(parents)
	return slices.Compact(parents)
}

// sameHierarchy says whether a /proc/self/cgroup controller list belongs
// to a mount of fstype with superoptions opts.
func sameHierarchy(controllers, fstype, opts string) bool {
	if fstype == "cgroup2" {
		return controllers == ""
	}
	if controllers == "" {
		return false
	}
	for _, c := range strings.Split(controllers, ",") {
		if !slices.Contains(strings.Split(opts, ","), c) {
			return false
		}
	}
	return true
}

// suiteCgroups lists the cgroups with the suite's names that exist now.
func suiteCgroups() []string {
	var found []string
	for _, parent := range cgroupParents() {
		entries, _ := os.ReadDir(parent)
		for _, e := range entries {
			if e.IsDir() && suiteCgroupNames.MatchString(e.Name()) {
				found = append(found, filepath.Join(parent, e.Name()))
			}
		}
	}
	return found
}

// removeNewCgroups removes the suite's cgroups that were not there
// before, deepest first, and says which it removed.
func removeNewCgroups(before []string) ([]string, error) {
	var removed []string
	var errs []error
	for _, top := range suiteCgroups() {
		if slices.Contains(before, top) {
			continue
		}
		for _, d := range fsutil.DeepestFirst(top) {
			if err := rmdirWait(d); err != nil {
				errs = append(errs, err)
			}
		}
		removed = append(removed, top)
	}
	return removed, errors.Join(errs...)
}

func rmdirWait(dir string) error {
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err = os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
	}
	return fmt.Errorf("removing cgroup %s: %w", dir, err)
}
