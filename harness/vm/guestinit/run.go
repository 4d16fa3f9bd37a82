package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

// baseEnv is every test's environment before the manifest's additions:
// busybox on PATH, and a home and temp dir that exist.
var baseEnv = []string{
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/root",
	"TMPDIR=/tmp",
	"TERM=dumb",
}

// runTest runs one test binary with its output on the console, between
// BEGIN and END markers, and reports whether it passed.
func runTest(m *guest.Manifest, t guest.Test) bool {
	say(guest.BeginLine(t.Name))
	start := time.Now()
	code, err := execTest(m, t)
	if err != nil {
		say(guest.ErrorLine(fmt.Errorf("%s: %w", t.Name, err)))
	}
	ok := err == nil && code == 0
	say(guest.EndLine(t.Name, ok, code, time.Since(start).Seconds()))
	return ok
}

// execTest runs the binary and returns its exit status (128+N if killed
// by signal N). As PID 1 the init inherits every orphan in the guest, and
// a host's init reaps them: a test that waits for a killed runtime to
// disappear depends on it. So instead of os/exec's Wait, it reaps every
// child until the test binary itself exits. A binary that outlives the
// manifest's timeout is killed with its whole process group.
func execTest(m *guest.Manifest, t guest.Test) (int, error) {
	timeout := m.TestTimeout.Duration
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		return -1, err
	}
	defer devNull.Close()
	proc, err := os.StartProcess(t.Bin, append([]string{t.Bin}, t.Args...), &os.ProcAttr{
		Dir:   t.Dir,
		Env:   append(append([]string{}, baseEnv...), m.Env...),
		Files: []*os.File{devNull, os.Stdout, os.Stdout},
		Sys:   &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		return -1, fmt.Errorf("starting %s: %w", t.Bin, err)
	}
	pid := proc.Pid
	_ = proc.Release() // reaped below with wait4, not through os.Process
	var timedOut atomic.Bool
	timer := time.AfterFunc(timeout, func() {
		timedOut.Store(true)
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	defer timer.Stop()
	ws, err := reapUntil(pid)
	if err != nil {
		return -1, err
	}
	if timedOut.Load() {
		return -1, fmt.Errorf("killed after %s", timeout)
	}
	return exitStatus(ws), nil
}

// reapUntil waits for any child, reaping orphans along the way, until pid
// exits, and returns its status.
func reapUntil(pid int) (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(-1, &ws, 0, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return ws, fmt.Errorf("waiting for pid %d: %w", pid, err)
		case got == pid:
			return ws, nil
		}
	}
}

// reapOrphans collects any zombie left without waiting.
func reapOrphans() {
	for {
		var ws unix.WaitStatus
		if pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil); pid <= 0 || err != nil {
			return
		}
	}
}

// exitStatus is the shell's view of a wait status.
func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// leftClean is the guest's version of CI's last check: after all the
// tests, no stepbox cgroup or mount is left. It counts as one test.
func leftClean() bool {
	const name = "guest-left-clean"
	say(guest.BeginLine(name))
	reapOrphans()
	var left []string
	_ = filepath.WalkDir("/sys/fs/cgroup", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.Contains(strings.ToLower(d.Name()), "stepbox") {
			left = append(left, "cgroup "+path)
		}
		return nil
	})
	if data, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(strings.ToLower(line), "stepbox") {
				left = append(left, "mount "+line)
			}
		}
	}
	for _, l := range left {
		say("left behind: " + l)
	}
	say(guest.EndLine(name, len(left) == 0, len(left), 0))
	return len(left) == 0
}
