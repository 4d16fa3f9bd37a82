package engine

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/probe"
)

// Faults the sandbox can inject into one run, for the fault tests. Both
// are mounts in the sandbox's own mount namespace, made after / was made
// private there, so the host never sees them and they end with the run.

// applyFaults makes the mounts a sandboxSpec asks for.
func applyFaults(spec sandboxSpec) error {
	if spec.ReadOnly != "" {
		if err := bindReadOnly(spec.ReadOnly); err != nil {
			return err
		}
	}
	if spec.OverlayOn != "" {
		if err := mountOverlayOn(spec.OverlayOn); err != nil {
			return err
		}
	}
	if spec.NoCgroups {
		return coverCgroups()
	}
	return nil
}

// bindReadOnly makes dir read-only, as a read-only disk would be: a bind
// mount of dir onto itself, then a remount of that bind mount read-only
// (MS_BIND with MS_REMOUNT changes only the new mount, never the
// filesystem underneath).
func bindReadOnly(dir string) error {
	if err := unix.Mount(dir, dir, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s in the sandbox: %w", dir, err)
	}
	if err := unix.Mount("", dir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("making %s read-only in the sandbox: %w", dir, err)
	}
	return nil
}

// coverCgroups mounts an empty read-only tmpfs over every cgroup
// filesystem, so a container cannot create a cgroup in this run:
// /proc/self/mountinfo still lists the cgroup mounts, but their paths now
// lead to the tmpfs.
func coverCgroups() error {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts, _ := probe.ParseMountinfo(string(data))
	for _, m := range mounts {
		if m.FSType != "cgroup" && m.FSType != "cgroup2" {
			continue
		}
		if err := unix.Mount("tmpfs", m.Point, "tmpfs", unix.MS_RDONLY, "size=4k"); err != nil {
			return fmt.Errorf("covering %s in the sandbox: %w", m.Point, err)
		}
	}
	return nil
}

// mountOverlayOn mounts an overlay on dir/merged (with dir/lower,
// dir/upper and dir/work), in the sandbox: a directory on it is no
// upper layer for another overlay ("not supported as upperdir").
func mountOverlayOn(dir string) error {
	for _, d := range []string{"lower", "upper", "work", "merged"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o711); err != nil {
			return fmt.Errorf("preparing an overlay in the sandbox: %w", err)
		}
	}
	opts := fmt.Sprintf("lowerdir=%s/lower,upperdir=%s/upper,workdir=%s/work", dir, dir, dir)
	if err := unix.Mount("overlay", filepath.Join(dir, "merged"), "overlay", 0, opts); err != nil {
		return fmt.Errorf("mounting an overlay in the sandbox: %w", err)
	}
	return nil
}
