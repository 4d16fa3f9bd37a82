//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cpuPeriod is the CPU accounting period, in microseconds. The quota is
// the CPU time the cgroup may use per period, summed over all its CPUs:
// a quota of 50000 per 100000 is half of one CPU.
const cpuPeriod = 100000

// cgroup is one container's control group: a directory in the cgroup
// filesystem whose files set limits for the processes listed in it.
type cgroup struct {
	dir  string   // e.g. /sys/fs/cgroup/cpu/stepbox-4242-1a2b3c4d
	v2   bool     // cgroup v2 (cpu.max) rather than v1 (cpu.cfs_quota_us)
	join *os.File // v1: the tasks file the child moves itself in through (moveIn); nil until opened
}

// newCgroup creates an empty cgroup for one container, directly under
// the root of the hierarchy that has the cpu controller. Its name,
// stepbox-<runtime's PID>-<8 random hex digits>, is unique, so containers
// can run side by side, and says who made it, so a leftover is easy to
// find and to tell from a cgroup still in use.
func newCgroup() (*cgroup, error) {
	root, v2, err := findCPUHierarchy()
	if err != nil {
		return nil, err
	}
	if v2 {
		if err := enableCPUController(root); err != nil {
			return nil, err
		}
	}
	removeStaleCgroups(root)
	// math/rand/v2 is seeded at random by the Go runtime: unique enough
	// for a name, and, unlike crypto/rand, it adds no package start-up
	// work to the parent and the child (see "Why it is fast").
	name := fmt.Sprintf("stepbox-%d-%08x", os.Getpid(), rand.Uint32())
	cg := &cgroup{dir: filepath.Join(root, name), v2: v2}
	if err := os.Mkdir(cg.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create a cgroup: %w", err)
	}
	return cg, nil
}

// removeStaleCgroups removes the cgroups that killed runtimes left
// behind. SIGKILL gives a runtime no chance to run its deferred rmdir;
// Pdeathsig kills its container, so the cgroup stays, empty. A cgroup is
// stale when the runtime its name records (stepbox-<PID>-...) no longer
// exists, so a live runtime's cgroup, even one still being set up, is
// never touched; and rmdir(2) itself refuses a cgroup that still holds a
// process (EBUSY). Errors are ignored: a leftover we cannot remove must
// not stop this container. (A runtime in another PID namespace that
// shares this cgroup tree could look dead from here: don't share one.)
func removeStaleCgroups(root string) {
	entries, _ := os.ReadDir(root) // unreadable: newCgroup's mkdir reports it
	for _, entry := range entries {
		pid, ok := cgroupOwner(entry.Name())
		if ok && !processExists(pid) {
			_ = unix.Rmdir(filepath.Join(root, entry.Name()))
		}
	}
}

// cgroupOwner returns the runtime's PID from a cgroup name that
// newCgroup made, and false for any other name.
func cgroupOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "stepbox-")
	if !ok {
		return 0, false
	}
	pidText, _, ok := strings.Cut(rest, "-")
	pid, err := strconv.Atoi(pidText)
	return pid, ok && err == nil && pid > 0
}

// processExists reports whether a process has this PID. kill(2) with
// signal 0 sends nothing, it only checks: ESRCH means no such process.
func processExists(pid int) bool {
	return unix.Kill(pid, 0) != unix.ESRCH
}

// findCPUHierarchy finds the cgroup filesystem that has the cpu
// controller, in /proc/self/mountinfo. cgroup v1 mounts one hierarchy per
// controller (or group of them, like cpu,cpuacct) and lists them in its
// options; cgroup v2 mounts one unified hierarchy that lists its
// controllers in cgroup.controllers. A "hybrid" host mounts both, and each
// controller is in only one of them: v1 if a v1 mount has it, else v2.
func findCPUHierarchy() (root string, v2 bool, err error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false, fmt.Errorf("cannot read the mount table: %w", err)
	}
	var v2Mounts []string
	for _, line := range strings.Split(string(data), "\n") {
		// 31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu,cpuacct
		// Before " - ", the 5th field is the mount point; after it come
		// the filesystem type, the source and the filesystem's options.
		mount, filesystem, ok := strings.Cut(line, " - ")
		mountFields, fsFields := strings.Fields(mount), strings.Fields(filesystem)
		if !ok || len(mountFields) < 5 || len(fsFields) < 3 {
			continue
		}
		switch fsFields[0] {
		case "cgroup":
			if slices.Contains(strings.Split(fsFields[2], ","), "cpu") {
				return mountFields[4], false, nil
			}
		case "cgroup2":
			v2Mounts = append(v2Mounts, mountFields[4])
		}
	}
	for _, dir := range v2Mounts {
		if hasController(dir, "cgroup.controllers", "cpu") {
			return dir, true, nil
		}
	}
	return "", false, errors.New("no cgroup filesystem with the cpu controller in /proc/self/mountinfo: " +
		"mount cgroup2 on /sys/fs/cgroup (or cgroup v1 with -o cpu)")
}

// hasController reports whether the space-separated list in dir/file
// names controller. A file we cannot read counts as "no": writing to it
// next will fail with the real error.
func hasController(dir, file, controller string) bool {
	data, err := os.ReadFile(filepath.Join(dir, file))
	return err == nil && slices.Contains(strings.Fields(string(data)), controller)
}

// enableCPUController lets the root's child cgroups use the cpu
// controller. In v2 a cgroup's cpu.max exists only if its parent lists
// cpu in cgroup.subtree_control. systemd hosts usually have it already;
// a bare kernel (like the CI VM's) does not.
func enableCPUController(root string) error {
	if hasController(root, "cgroup.subtree_control", "cpu") {
		return nil
	}
	return writeFile(filepath.Join(root, "cgroup.subtree_control"), "+cpu")
}

// setCPUQuota limits the cgroup to cpus CPUs: in every 100ms period its
// processes together may run for cpus*100ms, then they are throttled
// until the next period. v1 splits this into two files, v2 has one.
func (cg *cgroup) setCPUQuota(cpus float64) error {
	quota := int(math.Round(cpus * cpuPeriod))
	if cg.v2 {
		return cg.write("cpu.max", fmt.Sprintf("%d %d", quota, cpuPeriod))
	}
	if err := cg.write("cpu.cfs_period_us", strconv.Itoa(cpuPeriod)); err != nil {
		return err
	}
	return cg.write("cpu.cfs_quota_us", strconv.Itoa(quota))
}

// moveIn puts the child in the cgroup; whatever it forks or execs later
// stays there. How depends on the version:
//
//   - v2: write its PID to cgroup.procs, which moves all its threads.
//   - v1: open the cgroup's tasks file, which releaseChild sends to the
//     child, and the child moves itself in (joinCgroup).
//
// Moving a whole process takes a lock that every fork and exit on the
// machine reads, and taking it waits for an RCU grace period, 5 to 15
// ms in a fifth or more of the runs (see "Why it is fast"). A thread
// that moves only itself, by writing "0" to v1's tasks, skips that
// lock. v2 has no such shortcut (outside threaded cgroups): there the
// parent moves the child while the child's Go runtime starts, so that
// the wait overlaps with it.
func (cg *cgroup) moveIn(pid int) error {
	if cg.v2 {
		return cg.write("cgroup.procs", strconv.Itoa(pid))
	}
	f, err := os.OpenFile(filepath.Join(cg.dir, "tasks"), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("cannot open the cgroup's tasks: %w", err)
	}
	cg.join = f
	return nil
}

// joinSelf is what a thread writes to a v1 cgroup's tasks to move
// itself: "0", the writer.
var joinSelf = []byte("0")

// joinCgroup moves this process into the v1 cgroup whose tasks file
// the parent sent (moveIn), and closes the file. tasks moves one thread,
// and a Go program has several, so every thread writes "0", at once,
// through syscall.AllThreadsSyscall (which stops the world: no thread
// starts or ends meanwhile). The parent opened the file, as root, and
// the kernel checks a write against the credentials of whoever opened
// the file, so the child may use it even where it is nobody on the host
// (in a user namespace, step 06).
func joinCgroup(join int) error {
	defer unix.Close(join)
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_WRITE, uintptr(join), uintptr(unsafe.Pointer(&joinSelf[0])), 1)
	if errno == unix.ENOTSUP {
		return errors.New("cannot join the cgroup from every thread in a binary built with cgo: build it with CGO_ENABLED=0")
	}
	if errno != 0 {
		return fmt.Errorf("cannot join the container's cgroup: %w", errno)
	}
	return nil
}

// write writes value to one of the cgroup's files.
func (cg *cgroup) write(file, value string) error {
	return writeFile(filepath.Join(cg.dir, file), value)
}

// writeFile writes value to a cgroup control file. Each write is a
// request to the kernel, which refuses a bad one with an error, such as
// "invalid argument" for a quota below 1ms.
func writeFile(path, value string) error {
	err := os.WriteFile(path, []byte(value), 0o644)
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		err = pathErr.Err // the errno alone: the message below names the file
	}
	if err != nil {
		return fmt.Errorf("cannot write %q to %s: %w", value, path, err)
	}
	return nil
}

// remove deletes the cgroup with rmdir(2), the only way: its files are
// not real files, and it cannot be emptied like a directory. rmdir fails
// with EBUSY while the cgroup still has a process, and the kernel can
// take a moment to notice the last one has gone, so retry for up to 0.5s.
func (cg *cgroup) remove() error {
	if cg.join != nil {
		cg.join.Close() // the child has its own, if it was sent
	}
	var err error
	for range 50 {
		err = os.Remove(cg.dir)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cannot remove the container's cgroup: %w", err)
}
