//go:build linux

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// "run -d": the container must outlive the command that starts it, yet
// someone must still wait(2) for it, record how it ended and clean up.
// So "run -d" (the launcher) starts this program again, as the runtime
// of "run" without -d, in the background: its own session (setsid), so
// no terminal's hangup or Ctrl-C reaches it, stdin and stdout on
// /dev/null, and the container's output in a log file. That background
// runtime plays the part of containerd's shim (or conmon): it is the
// container's parent for as long as the container runs.
//
// The launcher waits on a pipe until the command inside is running, or
// failed to start, and returns: the id and 0, or the error line and its
// status (125, 126, 127), with nothing left behind.

// launchDetached is the launcher: it starts the background runtime,
// with the same arguments and a pipe to report on, and waits for word.
func launchDetached(args []string) int {
	if os.Geteuid() != 0 {
		return failed(exitRuntime, errors.New("run -d needs root: the container's state, layer and log live in the state directory, and only root gets a cgroup and a network"))
	}
	reportRead, reportWrite, err := os.Pipe()
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot create the start pipe: %w", err))
	}
	defer reportRead.Close()
	cmd := exec.Command("/proc/self/exe", append([]string{"run", "--shim-fd=3"}, args...)...)
	cmd.ExtraFiles = []*os.File{reportWrite}             // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // stdin, stdout, stderr: /dev/null
	err = cmd.Start()
	reportWrite.Close() // EOF then comes from the runtime alone
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot start the container's runtime: %w", err))
	}
	report, _ := io.ReadAll(reportRead) // until it reports, or exits
	word, rest, _ := strings.Cut(strings.TrimSpace(string(report)), " ")
	if word == "started" {
		_ = cmd.Process.Release() // it lives on; whoever inherits it reaps it
		fmt.Println(rest)
		return 0
	}
	_ = cmd.Wait() // it failed, cleaned up and exited
	status, err := strconv.Atoi(word)
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("the container's runtime exited without starting it (%v)", cmd.ProcessState))
	}
	fmt.Fprintf(os.Stderr, "stepbox: %s\n", rest)
	return status
}

// reportStarted tells the launcher that the command runs, and its id.
func reportStarted(id string) {
	if startReport != nil {
		fmt.Fprintf(startReport, "started %s\n", id)
		startReport.Close()
		startReport = nil
	}
}

// readStartReport waits until the child has started the command (EOF:
// the exec, or the init, closed the pipe) or said why not ("STATUS line").
func readStartReport(r *os.File) error {
	report, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("cannot read the start pipe: %w", err)
	}
	if len(report) == 0 {
		return nil
	}
	word, rest, _ := strings.Cut(strings.TrimSpace(string(report)), " ")
	status, err := strconv.Atoi(word)
	if err != nil {
		return fmt.Errorf("the container failed to start: %s", report)
	}
	return &startError{status: status, msg: rest}
}

// startError is the child's own reason the command did not start.
type startError struct {
	status int
	msg    string
}

func (e *startError) Error() string { return e.msg }

// logPath is a detached container's log: its stdout and stderr.
func logPath(dir string) string { return filepath.Join(dir, "log") }

// createLog creates the log, readable by the host's root alone.
func createLog(dir string) (*os.File, error) {
	f, err := os.OpenFile(logPath(dir), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot create the container's log: %w", err)
	}
	return f, nil
}
