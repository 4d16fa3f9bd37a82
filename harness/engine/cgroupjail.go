package engine

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/fsutil"
)

// A cgroup jail is a cgroup of the harness's own in every hierarchy,
// mounted in the sandbox over the hierarchy's root. The binary under test
// sees it as the root, so every cgroup it makes, whatever its name, lands
// inside: the checks find the container's cgroup by where the container is
// (its /proc/self/cgroup), and whatever is left in the jail after a check
// is a leak the harness may remove, being its own. The host's other
// cgroups are never in view. One jail serves an Env (two containers at
// once must meet in one hierarchy, as on a host); it is removed with it.

// jailPrefix names jails: stepbox-jail-<random>, at each hierarchy's root.
const jailPrefix = "stepbox-jail-"

// CgroupMountPoints are the mount points of every cgroup hierarchy.
func CgroupMountPoints() []string {
	var points []string
	for _, m := range hostMounts() {
		if m.FSType == "cgroup" || m.FSType == "cgroup2" {
			points = append(points, m.Point)
		}
	}
	slices.Sort(points)
	return slices.Compact(points)
}

// enterCgroupJail, in the sandbox, makes the jail in every hierarchy and
// mounts it over the hierarchy's root, in the sandbox's mount namespace
// only.
func enterCgroupJail(name string) error {
	for _, point := range CgroupMountPoints() {
		jail := filepath.Join(point, name)
		if err := os.Mkdir(jail, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("making the cgroup jail %s: %w", jail, err)
		}
		if err := prepareJail(point, jail); err != nil {
			return err
		}
		if err := unix.Mount(jail, point, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("mounting the cgroup jail %s over %s: %w", jail, point, err)
		}
	}
	return nil
}

// prepareJail gives the jail what a hierarchy's root has and a new cgroup
// lacks: on v1 cpuset, CPUs and memory nodes (else nothing can join a
// cgroup made inside); on v2, the root's controllers delegated to it, as a
// runtime enabling +cpu at the root would have them.
func prepareJail(root, jail string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		if data, err := os.ReadFile(filepath.Join(root, file)); err == nil {
			if err := os.WriteFile(filepath.Join(jail, file), data, 0o644); err != nil {
				return fmt.Errorf("setting %s of the cgroup jail %s: %w", file, jail, err)
			}
		}
	}
	available, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return nil // v1
	}
	enabled, _ := os.ReadFile(filepath.Join(root, "cgroup.subtree_control"))
	for _, c := range strings.Fields(string(available)) {
		if !slices.Contains(jailControllers, c) || slices.Contains(strings.Fields(string(enabled)), c) {
			continue
		}
		if err := os.WriteFile(filepath.Join(root, "cgroup.subtree_control"), []byte("+"+c), 0o644); err != nil {
			return fmt.Errorf("enabling %s for the cgroup jail in %s: %w", c, root, err)
		}
	}
	return nil
}

// jailControllers are the v2 controllers a runtime may enable at the root.
var jailControllers = []string{"cpu", "cpuset", "io", "memory", "pids"}

// jailDirs are the jail's directories on the host, one per hierarchy.
func (e *Env) jailDirs() []string {
	var dirs []string
	for _, point := range CgroupMountPoints() {
		dirs = append(dirs, filepath.Join(point, e.jail))
	}
	return dirs
}

// InJail says whether a cgroup directory is one the binary made: below
// the jail, not the jail itself.
func (e *Env) InJail(dir string) bool {
	return strings.Contains(dir+"/", "/"+e.jail+"/") && !slices.Contains(e.jailDirs(), dir)
}

// JailContents lists every cgroup inside the jail, in every hierarchy.
func (e *Env) JailContents() []string {
	var found []string
	for _, jail := range e.jailDirs() {
		if dirs := fsutil.Subdirs(jail); len(dirs) > 1 {
			found = append(found, dirs[1:]...) // dirs[0] is the jail
		}
	}
	return found
}

// SweepJail removes what the binary left in the jail, and the jail when
// it is empty. It runs when no run of the Env is under way: at the end of
// a check, and at Close. It returns the cgroups that were left.
func (e *Env) SweepJail() (left []string, err error) {
	left = e.JailContents()
	var errs []error
	for _, dir := range topLevel(left) {
		errs = append(errs, RemoveCgroup(dir))
	}
	for _, jail := range e.jailDirs() {
		if rmErr := os.Remove(jail); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) {
			errs = append(errs, rmErr)
		}
	}
	return left, errors.Join(errs...)
}

// SweepJailSince removes the cgroups in the jail that were not there
// before: what a runtime killed mid-way (a crash, a timeout) left. Being
// in the jail, they are the harness's to remove.
func (e *Env) SweepJailSince(before []string) error {
	var errs []error
	for _, dir := range topLevel(MultisetMinus(e.JailContents(), before)) {
		errs = append(errs, RemoveCgroup(dir))
	}
	return errors.Join(errs...)
}

// topLevel keeps the directories that are not below another in dirs.
func topLevel(dirs []string) []string {
	var top []string
	for _, d := range dirs {
		if !slices.ContainsFunc(dirs, func(p string) bool { return p != d && strings.HasPrefix(d, p+"/") }) {
			top = append(top, d)
		}
	}
	return top
}
