package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// sample is one measured container run.
type sample struct {
	Elapsed time.Duration
	Usage   Usage
	Err     error
}

// starter starts a prepared command. Most rows use (*exec.Cmd).Start;
// crun's row starts it from a thread in a private mount namespace.
type starter func(*exec.Cmd) error

// runOnce runs argv to completion and times it from just before fork to
// just after wait4 returned: the latency a user of the runtime sees.
// argv[0] must be an absolute path, so no row pays for a PATH search.
// The command gets its own process group and is killed with it after
// timeout, so a hung runtime cannot leave processes behind.
func runOnce(argv []string, timeout time.Duration, start starter) sample {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr // stdin and stdout are /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if start == nil {
		start = (*exec.Cmd).Start
	}
	began := time.Now()
	if err := start(cmd); err != nil {
		return sample{Err: fmt.Errorf("starting %s: %w", argv[0], err)}
	}
	timer := time.AfterFunc(timeout, func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	err := cmd.Wait()
	elapsed := time.Since(began)
	timedOut := !timer.Stop()
	s := sample{Elapsed: elapsed, Usage: usageOf(cmd.ProcessState)}
	switch {
	case timedOut:
		s.Err = fmt.Errorf("%s: killed after the %v timeout", strings.Join(argv, " "), timeout)
	case err != nil:
		s.Err = fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, firstLine(stderr.String()))
	}
	return s
}

// firstLine keeps error reports to one line: runtimes can be verbose.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return "(no stderr)"
	}
	return s
}

// errSkipped marks a row that cannot run here, with the reason.
var errSkipped = errors.New("skipped")
