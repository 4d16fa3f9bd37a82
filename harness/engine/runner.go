package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/fsutil"
	"github.com/stepbox/stepbox/harness/probe"
)

// DefaultTimeout bounds one run of the binary under test.
const DefaultTimeout = 30 * time.Second

// Invocation is one run of the binary under test. The command is the probe
// (Probe), another command (Cmd), or the whole argument list is given
// (Argv) for checks of bad usage.
type Invocation struct {
	Flags   []string // run flags before the command, e.g. --hostname x
	Probe   []string // run the probe with these arguments
	Cmd     []string // or run this command
	Argv    []string // or pass exactly these arguments to the binary
	Stdin   string
	Timeout time.Duration
	// Hold, when set, is called as soon as the probe has printed its report
	// (run it with "report --pause"); the probe exits when Hold returns.
	// Checks use it to look at a live container from the host.
	Hold func(*probe.Report)
	// User, when not 0, runs the binary as this unprivileged uid and gid
	// (from a copy it can reach), for the rootless checks of step 06.
	User int
	// JoinNet, when set, is a network namespace (/proc/PID/ns/net) the
	// sandbox joins instead of making its own: a second container then
	// shares the first one's "host side", bridge and all.
	JoinNet string
	// Live, when set, is called in its own goroutine as soon as the binary
	// under test has started, with its PID (on the host) and its output so
	// far, so a test can signal it mid-run. Run returns after Live does.
	Live func(pid int, stdout func() string)
	// Terminal, when set, is the binary's stdin, stdout, stderr and
	// controlling terminal (a pty's slave end): the sandbox makes the
	// binary a session leader. Its output then goes to the terminal.
	Terminal *os.File
	// Prepare, when set, may change the run's rootfs copy before the run.
	Prepare func(rootfs string) error
	// ReadOnlyRootfs makes the rootfs copy read-only for this run (a
	// read-only bind mount inside the sandbox; the host never sees it).
	ReadOnlyRootfs bool
	// NoCgroups covers every cgroup mount with an empty read-only tmpfs,
	// inside the sandbox only, so no cgroup can be created.
	NoCgroups bool
	// OverlayOn mounts an overlay on this directory, inside the sandbox
	// only: a state directory that overlayfs refuses as an upper layer.
	OverlayOn string
}

// Result is what one run produced.
type Result struct {
	Argv     []string
	Stdout   string
	Stderr   string
	Exit     int
	TimedOut bool
	Report   *probe.Report // the probe's report, when it printed one
	Witness  Witness       // what the sandbox saw around the run
	Dir      string        // the run's working directory on the host
	Rootfs   string        // the run's private rootfs copy on the host
}

// Describe names the run for a failure message: the command line and what
// it printed on stderr.
func (r *Result) Describe() string {
	cmdline := r.commandLine()
	s := fmt.Sprintf("`%s` exited %d", cmdline, r.Exit)
	if r.TimedOut {
		s = fmt.Sprintf("`%s` timed out", cmdline)
	}
	if msg := strings.TrimSpace(r.Stderr); msg != "" {
		s += fmt.Sprintf(" with stderr %q", FirstLines(msg, 3))
	}
	// A mount left in the sandbox is named whatever else went wrong: it
	// is often why the rest did.
	if leaked := MultisetMinus(r.Witness.After.Mounts, r.Witness.Before.Mounts); len(leaked) > 0 {
		s += fmt.Sprintf(", and left mounts outside the container: %s", ShortList(leaked, 4))
	}
	return s
}

// commandLine is the run's command line as the learner would type it in
// the run's directory: the binary by name, paths inside the run relative.
func (r *Result) commandLine() string {
	if len(r.Argv) == 0 {
		return ""
	}
	args := []string{filepath.Base(r.Argv[0])}
	for _, a := range r.Argv[1:] {
		if r.Dir != "" && strings.HasPrefix(a, r.Dir+"/") {
			a = "./" + strings.TrimPrefix(a, r.Dir+"/")
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// Run runs the binary under test once, in a fresh directory holding a
// private copy of the rootfs (./rootfs, the contract's default), inside a
// sandbox, with a timeout.
func (e *Env) Run(inv Invocation) (*Result, error) {
	res, sbx, err := e.prepareRun(inv)
	if err != nil {
		return nil, err
	}
	run, err := startSandbox(sbx, inv)
	if err != nil {
		return nil, err
	}
	defer run.closeStdin()
	if inv.Live != nil {
		live := make(chan struct{})
		defer func() { <-live }()
		go func() {
			defer close(live)
			if pid, ok := waitForPIDFile(sbx.PIDFile, run.exited); ok {
				inv.Live(pid, run.stdout.String)
			}
		}()
	}
	waitErr := run.wait(inv, res)
	res.Exit = exitCode(waitErr)
	res.Stdout, res.Stderr = run.stdout.String(), run.stderr.String()
	res.Report = ParseReport(res.Stdout)
	if data, err := os.ReadFile(sbx.Witness); err == nil {
		_ = json.Unmarshal(data, &res.Witness)
	} else if !res.TimedOut {
		return res, fmt.Errorf("the harness sandbox failed (%s)", res.Describe())
	}
	return res, nil
}

// prepareRun makes the run's directory and the sandbox's instructions.
func (e *Env) prepareRun(inv Invocation) (*Result, sandboxSpec, error) {
	res, err := e.newRunDir(inv.Prepare)
	if err != nil {
		return nil, sandboxSpec{}, err
	}
	dir := res.Dir
	res.Argv = e.argv(inv, res.Rootfs)
	if inv.User != 0 {
		if res.Argv[0], err = copyForUser(e.Bin, dir); err != nil {
			return nil, sandboxSpec{}, err
		}
	}
	sbx := sandboxSpec{Argv: res.Argv, Dir: dir, Witness: filepath.Join(dir, "witness.json"), UID: inv.User, JoinNet: inv.JoinNet,
		PIDFile: filepath.Join(dir, "bin.pid"), TTY: inv.Terminal != nil, NoCgroups: inv.NoCgroups,
		OverlayOn: inv.OverlayOn, CgroupJail: e.jail}
	if inv.ReadOnlyRootfs {
		sbx.ReadOnly = res.Rootfs
	}
	return res, sbx, nil
}

// running is a started sandbox: its output so far, and how it ended.
type running struct {
	cmd       *exec.Cmd
	stdout    *lineWatcher
	stderr    bytes.Buffer
	stdin     *os.File // the write end of stdin, for Hold: closing it ends the probe
	stdinRead *os.File
	done      chan error    // the sandbox's Wait error
	exited    chan struct{} // closed once it has exited
}

// startSandbox starts the sandbox for one run.
func startSandbox(sbx sandboxSpec, inv Invocation) (*running, error) {
	r := &running{cmd: sandboxCommand(sbx), stdout: &lineWatcher{first: make(chan struct{})},
		done: make(chan error, 1), exited: make(chan struct{})}
	cmd := r.cmd
	if inv.JoinNet != "" {
		cmd.SysProcAttr.Cloneflags &^= syscall.CLONE_NEWNET // the sandbox joins JoinNet instead
	}
	cmd.Stdout, cmd.Stderr = r.stdout, &r.stderr
	if inv.Hold != nil {
		rd, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		cmd.Stdin, r.stdinRead, r.stdin = rd, rd, w
	} else {
		cmd.Stdin = strings.NewReader(inv.Stdin)
	}
	if inv.Terminal != nil {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = inv.Terminal, inv.Terminal, inv.Terminal
	}
	if err := cmd.Start(); err != nil {
		r.closeStdin()
		return nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	go func() { r.done <- cmd.Wait(); close(r.exited) }()
	return r, nil
}

// closeStdin closes both ends of Hold's stdin pipe, if there is one.
func (r *running) closeStdin() {
	if r.stdin != nil {
		r.stdinRead.Close()
		r.stdin.Close()
	}
}

// wait waits for the sandbox to exit, or kills it at the run's timeout.
// With Hold, it calls Hold once the probe has reported, then closes its
// stdin so the probe exits.
func (r *running) wait(inv Invocation, res *Result) error {
	timeout := inv.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	first := r.stdout.first
	for {
		select {
		case <-first:
			first = nil
			if inv.Hold != nil {
				// Hold gets a report or is not called: a first line
				// that is not the probe's (the article prints ERROR
				// lines) leaves the check's "never reported" outcome.
				if rep := ParseReport(r.stdout.String()); rep != nil {
					inv.Hold(rep)
				}
				r.stdin.Close()
			}
		case err := <-r.done:
			return err
		case <-timer.C:
			res.TimedOut = true
			// The sandbox leads a process group holding everything the
			// run started, unless something in it made its own session.
			_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			return <-r.done
		}
	}
}

// newRunDir makes a fresh directory for a run, holding a private copy
// of the rootfs, changed by prepare when it is not nil.
func (e *Env) newRunDir(prepare func(rootfs string) error) (*Result, error) {
	dir, err := os.MkdirTemp(e.scratch, "run-")
	if err != nil {
		return nil, err
	}
	// Searchable by all: from step 06 the container's root is an
	// unprivileged host id that must reach the rootfs inside.
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	res := &Result{Dir: dir, Rootfs: filepath.Join(dir, "rootfs")}
	if err := e.CopyRootfs(res.Rootfs); err != nil {
		return nil, err
	}
	if prepare != nil {
		if err := prepare(res.Rootfs); err != nil {
			return nil, fmt.Errorf("preparing the rootfs: %w", err)
		}
	}
	return res, nil
}

// sandboxCommand is the sandbox process for spec: this executable again,
// in new namespaces, leading a process group of its own.
func sandboxCommand(spec sandboxSpec) *exec.Cmd {
	data, _ := json.Marshal(spec)
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), sandboxEnv+"="+string(data))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own network namespace too: whatever a step does to the
		// network "on the host" happens in the sandbox, never on the host.
		Cloneflags: syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		Setpgid:    true,
	}
	return cmd
}

// waitForPIDFile waits until the sandbox has written the PID of the
// binary under test, or has exited without doing so.
func waitForPIDFile(path string, exited <-chan struct{}) (int, bool) {
	for {
		if data, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
				return pid, true
			}
		}
		select {
		case <-exited:
			return 0, false
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// argv is the full command line for an invocation.
func (e *Env) argv(inv Invocation, rootfs string) []string {
	if inv.Argv != nil {
		return append([]string{e.Bin}, inv.Argv...)
	}
	argv := append(append([]string{e.Bin, "run"}, e.defaultFlags(inv.Flags)...), inv.Flags...)
	if inv.Cmd != nil {
		return append(argv, inv.Cmd...)
	}
	return append(append(argv, e.ProbePath(rootfs)), inv.Probe...)
}

// ParseReport finds the probe's JSON line in its output, if any.
func ParseReport(stdout string) *probe.Report {
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "{") {
			if r, err := probe.Parse([]byte(line)); err == nil {
				return r
			}
		}
	}
	return nil
}

// lineWatcher collects output and closes first when the first line is
// complete.
type lineWatcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	first  chan struct{}
	closed bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.closed && bytes.Contains(w.buf.Bytes(), []byte("\n")) {
		close(w.first)
		w.closed = true
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// copyForUser copies the binary under test into dir, where an
// unprivileged user can run it (the build folder is root's alone).
func copyForUser(bin, dir string) (string, error) {
	dst := filepath.Join(dir, filepath.Base(bin))
	if err := fsutil.CopyFile(bin, dst, 0o755); err != nil {
		return "", fmt.Errorf("copying the binary for an unprivileged run: %w", err)
	}
	return dst, nil
}
