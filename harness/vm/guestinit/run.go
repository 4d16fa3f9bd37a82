package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

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

// execTest runs the binary and returns its exit status. A binary that
// outlives the manifest's timeout is killed with its whole process group.
func execTest(m *guest.Manifest, t guest.Test) (int, error) {
	timeout := m.TestTimeout.Duration
	if timeout <= 0 {
		timeout = 15 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, t.Bin, t.Args...)
	cmd.Dir = t.Dir
	cmd.Env = append(append([]string{}, baseEnv...), m.Env...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, fmt.Errorf("killed after %s", timeout)
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// leftClean is the guest's version of CI's last check: after all the
// tests, no stepbox cgroup or mount is left. It counts as one test.
func leftClean() bool {
	const name = "guest-left-clean"
	say(guest.BeginLine(name))
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
