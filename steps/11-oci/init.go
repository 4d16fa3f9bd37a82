//go:build linux

package main

import (
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// The init: with --init (the default) the child does not become the
// command. It stays as the container's PID 1 and starts the command as
// its child, because PID 1 has two jobs no ordinary program does:
//
//   - Signals. The kernel delivers to a namespace's PID 1 only the
//     signals it has a handler for (SIGKILL from outside excepted), so a
//     command that never expected to be PID 1, like sleep, ignores the
//     SIGTERM of "stepbox stop". The init handles them all and forwards
//     each to the command.
//   - Orphans. A process whose parent exits is re-parented to PID 1,
//     which must wait(2) for it, or it stays a zombie, holding its PID,
//     until the container ends. The init waits for any child.
//
// It exits with the command's status (128+N if signal N ended it), and
// with it the whole PID namespace: the kernel kills whatever is left.
// This is docker's --init (tini) in a few dozen lines.

// forwarded are the signals the init passes on to the command: those a
// user or "stepbox stop/kill" sends. (SIGCHLD is the init's own; SIGURG
// is the Go runtime's.) Asking Go for each costs a round trip to the
// runtime's signal thread, about 0.1 ms here, so the init asks for them
// in two goes. Before the command starts, those that would end the init
// itself were they to come first: the Go runtime exits on SIGHUP, SIGINT
// and SIGTERM nobody asked for, and dumps its goroutines on SIGQUIT. The
// rest only once the command runs. Until then Go drops SIGUSR1, SIGUSR2,
// SIGWINCH and SIGALRM, which the command, with no handler set yet,
// would mostly have died of; SIGTSTP stops the init (SIGCONT resumes
// it), as it would have stopped the command.
var forwarded = []os.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM}

// forwardedOnceStarted are the other signals passed on (see forwarded).
var forwardedOnceStarted = []os.Signal{unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH, unix.SIGALRM, unix.SIGTSTP, unix.SIGCONT}

// initProcess is the init's bookkeeping: who its children are.
type initProcess struct {
	mu    sync.Mutex
	main  int                          // the command
	execs map[int]chan unix.WaitStatus // commands started by "stepbox exec", and who waits for them
}

// initReady is what the init gets ready before the child waits for the
// parent (readyInit), so that it is off the path the run waits on.
type initReady struct {
	signals chan os.Signal // already asked for those in forwarded
	path    string         // the command, found in the container's root
}

// readyInit asks Go for the signals that would end the init, and finds
// the command: the child's root is the container's already. It runs
// while the parent sets up the host side; a command not found is
// reported, with its status, once the parent has let the child go.
func readyInit(command []string) (initReady, int, error) {
	ready := initReady{signals: make(chan os.Signal, 16)}
	notify(ready.signals, forwarded) // before the command starts: none can end the init
	path, status, err := lookPath(command[0])
	ready.path = path
	return ready, status, err
}

// runInit starts the command, at the path readyInit found, then reaps
// children until it has ended, and returns its status. signals has the
// ones readyInit asked for. execFD, when not 0, is the exec socket to
// serve (exec.go).
func runInit(command []string, path string, signals chan os.Signal, execFD int) int {
	in := &initProcess{execs: map[int]chan unix.WaitStatus{}}
	var err error
	in.mu.Lock()
	in.main, err = startProcess(path, command, []uintptr{0, 1, 2}, &syscall.SysProcAttr{})
	in.mu.Unlock()
	if err != nil {
		return failed(exitCannotExec, fmt.Errorf("cannot execute %q: %w", command[0], err))
	}
	if startReport != nil {
		startReport.Close() // the command runs: "started" (run -d returns)
		startReport = nil
	}
	go in.forwardSignals(signals)
	if execFD != 0 {
		go in.serveExec(os.NewFile(uintptr(execFD), "exec socket"))
	}
	return serveStarts(in.reap) // exec's forks, on this thread (starter.go)
}

// startProcess forks and execs path. syscall.ForkExec returns once the
// exec has succeeded (or with its error), and, unlike os.StartProcess,
// leaves the waiting to us: the reaper waits for every child alike.
// A process of exec gets a session of its own (execSession); the command
// stays in the terminal's, so that a shell can read from it.
// It forks from the thread that dropped the bounding set (starter.go).
func startProcess(path string, argv []string, files []uintptr, sys *syscall.SysProcAttr) (pid int, err error) {
	onStartThread(func() {
		pid, err = syscall.ForkExec(path, argv, &syscall.ProcAttr{
			Dir:   "/",
			Env:   os.Environ(),
			Files: files,
			Sys:   sys,
		})
	})
	return pid, err
}

// forwardSignals asks Go for the rest of the signals passed on (see
// forwarded), then passes every signal the init gets on to the command.
// It asks while the main goroutine reaps: the command may be done
// before the six round trips are.
func (in *initProcess) forwardSignals(signals chan os.Signal) {
	signal.Notify(signals, forwardedOnceStarted...)
	for sig := range signals {
		_ = unix.Kill(in.main, sig.(syscall.Signal)) // fails only once it is gone
	}
}

// reap waits for children, whoever they are, until the command ends.
// wait4(-1) takes any child that has exited: the command, a process of
// exec, or an orphan re-parented to us, which only needed reaping.
func (in *initProcess) reap() int {
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return failed(exitRuntime, fmt.Errorf("init: cannot wait for the command: %w", err))
		}
		in.mu.Lock() // a child just started is registered before we look
		if pid == in.main {
			in.mu.Unlock()
			return exitStatus(ws)
		}
		if waiter, ok := in.execs[pid]; ok {
			delete(in.execs, pid)
			waiter <- ws
		}
		in.mu.Unlock()
	}
}

// exitStatus is a shell's $? for how a process ended. PID 1 cannot die
// of the command's signal itself (it would be ignored), so 128+N it is.
func exitStatus(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// notify asks Go for sigs from a goroutine of its own, and waits. The
// init's main goroutine is locked to its thread (starter.go), so each
// round trip to the runtime's signal thread would cost two thread
// switches more: asked from a goroutine free to run on any thread, the
// ten signals take about half as long (0.45 ms instead of 0.9, in a
// small program on this course's VM; see "Why it is fast").
func notify(c chan os.Signal, sigs []os.Signal) {
	done := make(chan struct{})
	go func() {
		signal.Notify(c, sigs...)
		close(done)
	}()
	<-done
}
