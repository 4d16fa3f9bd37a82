package main

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// A mount the guest needs, in order.
type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

// mounts is the guest's filesystem table. The cgroup2 hierarchy is the
// only cgroup mount, so the steps see a pure v2 machine; nsdelegate is
// what systemd uses. /tmp comes later, once its modules are in
// (diskTmp).
var mounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "gid=5,mode=620,ptmxmode=666"},
	{"tmpfs", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate"},
}

// mountAll mounts the table, then makes / shared, as it is on a systemd
// host, so propagation bugs in a step show up here as they would there.
func mountAll() error {
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mounting %s on %s: %w", m.fstype, m.target, err)
		}
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("making / shared: %w", err)
	}
	return nil
}

// controllers are the cgroup v2 controllers the steps use.
var controllers = []string{"cpu", "memory", "pids"}

// enableControllers turns the controllers on for the root's children, so
// a cgroup a step creates has cpu.max; on a systemd host that is done
// already.
func enableControllers() error {
	have, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
	if err != nil {
		return fmt.Errorf("cgroup v2: %w", err)
	}
	var enable []string
	for _, c := range controllers {
		if !strings.Contains(" "+strings.TrimSpace(string(have))+" ", " "+c+" ") {
			return fmt.Errorf("cgroup v2: the kernel has no %s controller (cgroup.controllers: %q)", c, strings.TrimSpace(string(have)))
		}
		enable = append(enable, "+"+c)
	}
	line := strings.Join(enable, " ")
	if err := os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte(line), 0o644); err != nil {
		return fmt.Errorf("cgroup v2: writing %q to cgroup.subtree_control: %w", line, err)
	}
	return nil
}

// quietKernel keeps kernel messages off the console from now on, so they
// cannot split a marker line; the boot log before init is kept.
func quietKernel() {
	_ = os.WriteFile("/proc/sys/kernel/printk", []byte("1 4 1 7"), 0o644)
}

// cgroupInfo describes the guest's cgroup mounts and enabled controllers
// in one line, so the console shows the steps ran on pure cgroup v2.
func cgroupInfo() string {
	var mounts []string
	if data, err := os.ReadFile("/proc/self/mounts"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) > 2 && strings.HasPrefix(f[2], "cgroup") {
				mounts = append(mounts, f[2]+" on "+f[1])
			}
		}
	}
	ctl, _ := os.ReadFile("/sys/fs/cgroup/cgroup.subtree_control")
	return fmt.Sprintf("guest cgroups: %s (the only cgroup mounts); root cgroup.subtree_control: %s",
		strings.Join(mounts, ", "), strings.TrimSpace(string(ctl)))
}
