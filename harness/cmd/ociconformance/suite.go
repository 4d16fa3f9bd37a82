package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/oci"
)

// Outcome is what one validation program did against one runtime.
type Outcome string

// "Passes fully": exits 0, prints TAP, prints no `not ok` line.
const (
	Pass  Outcome = "pass"
	Fail  Outcome = "fail"
	NoTAP Outcome = "no TAP"
)

// Result is one cell of the table.
type Result struct {
	Outcome  Outcome
	OK, Of   int // TAP lines: ok, and ok plus not ok
	Exit     int
	Duration time.Duration
	Output   string // stdout then stderr, for the log
	Retried  bool   // it passed only on its second run
}

// classify judges a validation program's run by its TAP output and exit
// status.
func classify(stdout string, exit int) Result {
	r := Result{Exit: exit}
	tap := false
	failed := false
	for _, line := range strings.Split(stdout, "\n") {
		switch {
		case strings.HasPrefix(line, "not ok"):
			tap, failed = true, true
			r.Of++
		case strings.HasPrefix(line, "ok"):
			tap = true
			r.OK++
			r.Of++
		case strings.HasPrefix(line, "1.."), strings.HasPrefix(line, "TAP version"):
			tap = true
		}
	}
	switch {
	case !tap:
		r.Outcome = NoTAP
	case failed || exit != 0:
		r.Outcome = Fail
	default:
		r.Outcome = Pass
	}
	return r
}

// Cell is how a result reads in the table.
func (r Result) Cell() string {
	if r.Retried {
		return "pass (2nd run)"
	}
	if r.Outcome == Fail && r.Of > 0 {
		return fmt.Sprintf("fail (%d/%d ok)", r.OK, r.Of)
	}
	return string(r.Outcome)
}

// tests lists the validation programs in dir: every executable but
// runtimetest (beside them: the rootfs tarball and the build's stamp).
func tests(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w (build the suite with make oci-conformance)", dir, err)
	}
	var names []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		if e.Name() != "runtimetest" && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	if !slices.Contains(entryNames(entries), "runtimetest") {
		return nil, fmt.Errorf("%s has no runtimetest (build the suite with make oci-conformance)", dir)
	}
	return names, nil
}

func entryNames(entries []os.DirEntry) []string {
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// runOne runs the validation program test against runtime, in a
// sandbox of its own (mount, PID, UTS, IPC and network namespaces, a
// private /run) and a fresh working directory holding what the suite
// expects beside it: runtimetest and the rootfs tarball. Its bundles go
// to a private TMPDIR. Everything is removed afterwards.
func runOne(tools, test string, rt target, timeout time.Duration) (Result, error) {
	work, err := os.MkdirTemp("", "stepbox-oci-conformance-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)
	tmp := filepath.Join(work, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return Result{}, err
	}
	// runtimetest must be a file: the suite copies it into the bundle's
	// rootfs, and would copy a symbolic link as a link to outside it.
	if err := linkOrCopy(filepath.Join(tools, "runtimetest"), filepath.Join(work, "runtimetest")); err != nil {
		return Result{}, err
	}
	if err := os.Symlink(filepath.Join(tools, rootfsTarball), filepath.Join(work, rootfsTarball)); err != nil {
		return Result{}, err
	}

	sb, err := oci.StartSandbox(rt.hideUnified)
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := sb.CommandIn(work, filepath.Join(tools, test))
	cmd.Env = append(os.Environ(), "RUNTIME="+rt.path, "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	exit := 0
	if err := cmd.Start(); err != nil {
		sb.Close()
		return Result{}, fmt.Errorf("starting %s: %w", test, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	waitErr := cmd.Wait()
	stop()
	var exitErr *exec.ExitError
	switch {
	case waitErr == nil:
	case errors.As(waitErr, &exitErr):
		exit = exitErr.ExitCode()
	default:
		exit = -1
	}
	closeErr := sb.Close() // ends whatever the test left running
	r := classify(stdout.String(), exit)
	r.Duration = time.Since(start)
	r.Output = stdout.String() + stderr.String()
	if ctx.Err() != nil {
		r.Output += fmt.Sprintf("\n(killed after %v)\n", timeout)
	}
	return r, closeErr
}

// linkOrCopy hard-links src to dst, or copies it across filesystems.
func linkOrCopy(src, dst string) error {
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}
