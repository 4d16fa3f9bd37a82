package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A Session is one sandbox that serves many runs of the binary under
// test, one after another, for the lifecycle checks of step 09: a
// detached container started by one run must still be there for the
// next (ps, exec, stop, rm), in the same network, mount and UTS
// namespaces. The sandbox is also a PID namespace whose PID 1 is the
// session's server: every process the session started, detached or
// not, dies with it, so even a failed check leaves nothing running.

// sessionRequest is one thing the server is asked to do.
type sessionRequest struct {
	Argv    []string      `json:"argv,omitempty"` // run this
	Stdin   string        `json:"stdin,omitempty"`
	Timeout time.Duration `json:"timeout,omitempty"`
	// Snapshot asks for the sandbox's mounts, network and hostname
	// instead; with Settle, after waiting up to 2s for the network to
	// look like Settle again (the kernel removes a veth pair lazily).
	Snapshot bool     `json:"snapshot,omitempty"`
	Settle   []string `json:"settle,omitempty"`
	// KillAdopted SIGKILLs every process the server adopted: the
	// runtimes that detached from the runs that started them. It is how
	// a check crashes a runtime.
	KillAdopted bool `json:"kill_adopted,omitempty"`
	// Terminal, when set, is a pty's slave end (/dev/pts/N) to run Argv
	// on: its stdin, stdout, stderr and controlling terminal, in a
	// session of its own. Its output goes to the pty, not the reply.
	Terminal string `json:"terminal,omitempty"`
}

// sessionReply is the server's answer.
type sessionReply struct {
	Stdout   string `json:"stdout,omitempty"`
	Stderr   string `json:"stderr,omitempty"`
	Exit     int    `json:"exit"`
	TimedOut bool   `json:"timed_out,omitempty"`
	Error    string `json:"error,omitempty"`
	Killed   int    `json:"killed,omitempty"`
	Snapshot State  `json:"snapshot"`
}

// serveSession is the sandbox's side: PID 1 of its own PID namespace,
// with a /proc that shows it, it runs what stdin asks, one request at a
// time, and answers on stdout, until stdin closes.
func serveSession(spec sandboxSpec, mountinfo *os.File) (int, error) {
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return 0, fmt.Errorf("mounting the session's /proc: %w", err)
	}
	dec, enc := json.NewDecoder(os.Stdin), json.NewEncoder(os.Stdout)
	for {
		var req sessionRequest
		if err := dec.Decode(&req); err != nil {
			return 0, nil // the harness closed the session: our PID namespace, and all in it, ends with us
		}
		var reply sessionReply
		switch {
		case req.Snapshot:
			reply.Snapshot = readState(mountinfo, req.Settle)
		case req.KillAdopted:
			reply.Killed = killAdopted()
		default:
			reply = sessionRun(spec, req)
		}
		reapAdopted()
		if err := enc.Encode(reply); err != nil {
			return 0, err
		}
	}
}

// sessionRun runs one command line in the session's directory.
func sessionRun(spec sandboxSpec, req sessionRequest) sessionReply {
	if len(req.Argv) == 0 {
		return sessionReply{Error: "nothing to run"}
	}
	cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Stdin = strings.NewReader(req.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second // a detached process that kept our pipes does not hold the reply
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if req.Terminal != "" {
		tty, err := os.OpenFile(req.Terminal, os.O_RDWR|syscall.O_NOCTTY, 0)
		if err != nil {
			return sessionReply{Error: fmt.Sprintf("opening the terminal: %v", err)}
		}
		defer tty.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
		// A session leader (so also a process group's: the timeout's
		// kill of -PID still takes the group), the pty its terminal.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Pdeathsig: syscall.SIGKILL}
	}
	if err := cmd.Start(); err != nil {
		return sessionReply{Error: fmt.Sprintf("starting %s: %v", req.Argv[0], err)}
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(req.Timeout, func() {
		timedOut.Store(true)
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	err := cmd.Wait()
	timer.Stop()
	return sessionReply{Stdout: stdout.String(), Stderr: stderr.String(), Exit: exitCode(err), TimedOut: timedOut.Load()}
}

// adopted lists the server's children: between runs, the processes that
// detached from the runs that started them (re-parented to PID 1).
func adopted() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == 1 {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
		if len(fields) > 1 && fields[1] == "1" {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killAdopted SIGKILLs the adopted processes and reaps them.
func killAdopted() int {
	pids := adopted()
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range pids {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
	}
	return len(pids)
}

// reapAdopted waits for the adopted processes that have exited, as any
// PID 1 must: a zombie still looks alive to kill(pid, 0).
func reapAdopted() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// StartSession starts a session sandbox, in a fresh directory holding a
// copy of the rootfs, like a run's.
func (e *Env) StartSession() (*Session, error) {
	res, err := e.newRunDir(nil)
	if err != nil {
		return nil, err
	}
	s := &Session{Env: e, Dir: res.Dir, Rootfs: res.Rootfs, containers: Layers(e.StateDir()), jailBefore: e.JailContents()}
	s.cmd = sandboxCommand(sandboxSpec{Dir: res.Dir, Witness: filepath.Join(res.Dir, "witness.json"), Session: true, CgroupJail: e.jail})
	s.cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL // the test died: so does the session, and all in it
	s.cmd.Stderr = &s.stderr
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = json.NewDecoder(out)
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the session sandbox: %w", err)
	}
	return s, nil
}

// Session is the harness's side of a session sandbox.
type Session struct {
	Env         *Env   // the Env whose binary the session runs
	Dir, Rootfs string // the session's working directory and rootfs copy
	cmd         *exec.Cmd
	in          io.WriteCloser
	out         *json.Decoder
	stderr      bytes.Buffer
	containers  []string // the state dir's containers before the session
	jailBefore  []string // the cgroups in the Env's jail before the session
}

// ask sends one request and reads the answer.
func (s *Session) ask(req sessionRequest) (sessionReply, error) {
	var reply sessionReply
	data, _ := json.Marshal(req)
	if _, err := s.in.Write(append(data, '\n')); err != nil {
		return reply, fmt.Errorf("the session sandbox is gone: %w (%s)", err, strings.TrimSpace(s.stderr.String()))
	}
	if err := s.out.Decode(&reply); err != nil {
		return reply, fmt.Errorf("the session sandbox did not answer: %w (%s)", err, strings.TrimSpace(s.stderr.String()))
	}
	if reply.Error != "" {
		return reply, errors.New(reply.Error)
	}
	return reply, nil
}

// Run runs the binary under test with args, in the session, within
// DefaultTimeout.
func (s *Session) Run(args ...string) (*Result, error) {
	return s.RunInput("", args...)
}

// RunInput is Run with stdin.
func (s *Session) RunInput(stdin string, args ...string) (*Result, error) {
	return s.runArgv(stdin, append([]string{s.Env.Bin}, args...))
}

// RunOnTerminal runs the binary under test with args, in the session,
// on the terminal whose slave end is tty (a path, /dev/pts/N): as its
// stdin, stdout, stderr and controlling terminal. It returns once the
// binary has exited (or DefaultTimeout killed it): drive the terminal's
// master end from another goroutine meanwhile.
func (s *Session) RunOnTerminal(tty string, args ...string) (*Result, error) {
	argv := append([]string{s.Env.Bin}, args...)
	reply, err := s.ask(sessionRequest{Argv: argv, Terminal: tty, Timeout: DefaultTimeout})
	if err != nil {
		return nil, err
	}
	return &Result{Argv: argv, Dir: s.Dir, Rootfs: s.Rootfs, Exit: reply.Exit, TimedOut: reply.TimedOut}, nil
}

// RunCommand runs argv, another command than the binary under test, in
// the session's sandbox (outside any container), within DefaultTimeout.
func (s *Session) RunCommand(argv ...string) (*Result, error) {
	return s.runArgv("", argv)
}

func (s *Session) runArgv(stdin string, argv []string) (*Result, error) {
	reply, err := s.ask(sessionRequest{Argv: argv, Stdin: stdin, Timeout: DefaultTimeout})
	if err != nil {
		return nil, err
	}
	return &Result{Argv: argv, Dir: s.Dir, Rootfs: s.Rootfs, Stdout: reply.Stdout, Stderr: reply.Stderr,
		Exit: reply.Exit, TimedOut: reply.TimedOut}, nil
}

// Snapshot reads the session sandbox's mounts, network and hostname;
// with settle, after waiting a moment for the network to be that again.
func (s *Session) Snapshot(settle []string) (State, error) {
	reply, err := s.ask(sessionRequest{Snapshot: true, Settle: settle})
	return reply.Snapshot, err
}

// KillAdopted SIGKILLs the runtimes that detached within the session,
// as a crash would, and says how many there were.
func (s *Session) KillAdopted() (int, error) {
	reply, err := s.ask(sessionRequest{KillAdopted: true})
	return reply.Killed, err
}

// Close ends the session: it asks the binary to remove each container
// the session made (rm -f), ends the sandbox and with it every process
// still in it, and removes whatever was left: cgroups (the host guard
// would otherwise report them) and the containers' directories.
func (s *Session) Close() error {
	for _, id := range MultisetMinus(Layers(s.Env.StateDir()), s.containers) {
		_, _ = s.Run("rm", "-f", "--state-dir", s.Env.StateDir(), id)
	}
	s.in.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(DefaultTimeout):
		_ = s.cmd.Process.Kill()
		<-done
	}
	errs := []error{s.Env.SweepJailSince(s.jailBefore)}
	for _, id := range MultisetMinus(Layers(s.Env.StateDir()), s.containers) {
		errs = append(errs, os.RemoveAll(filepath.Join(s.Env.StateDir(), "containers", id)))
	}
	errs = append(errs, os.RemoveAll(s.Dir))
	return errors.Join(errs...)
}

// NewCgroups are the cgroups the session's runtimes made, in the Env's
// jail, that are still there.
func (s *Session) NewCgroups() []string {
	return MultisetMinus(s.Env.JailContents(), s.jailBefore)
}
