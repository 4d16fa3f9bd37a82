//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// "stepbox exec ID CMD" runs CMD inside a running container: same
// namespaces, same root, same cgroup, as the container's root.
//
// The textbook way is setns(2): open /proc/PID/ns/* of the container's
// PID 1, join each, then fork and exec. Go cannot do it for the two
// namespaces that matter most. The kernel lets a process join a user
// namespace only while it has a single thread, and a mount namespace
// only while no other thread shares its root and working directory; a
// Go program has several threads before main runs. runc gets around it
// with C: nsexec, a constructor that runs before the Go runtime starts,
// while the process still has one thread (cgo, which this course's
// static binaries do without).
//
// So we ask a process that is already inside: the container's init. The
// parent creates a unix socket in the container's directory on the host
// (exec.sock, for the host's root alone) and hands the listening end to
// the child, which keeps it through pivot_root. "stepbox exec" connects
// and sends the command with its own stdin, stdout and stderr attached
// (SCM_RIGHTS passes open files between processes); the init starts it
// as its child, with those files, and answers with its exit status. A
// container run with --init=false has nobody to ask: exec says so.

// execRequest is what exec sends the init, with its stdio attached.
type execRequest struct {
	Command []string `json:"command"`
	TTY     bool     `json:"tty,omitempty"` // the three files are one pty's slave end: make it the controlling terminal (tty.go)
}

// execSocket is the socket's path in the container's directory.
func execSocket(dir string) string { return filepath.Join(dir, "exec.sock") }

// listenExec creates the exec socket and returns its listening end as a
// file, to pass to the child.
func listenExec(dir string) (*os.File, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: execSocket(dir), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot create the exec socket: %w (a unix socket's path is at most 107 bytes: pass a shorter --state-dir)", err)
	}
	defer l.Close() // the file below is a copy; the socket stays while the init holds it
	l.SetUnlinkOnClose(false)
	if err := os.Chmod(execSocket(dir), 0o600); err != nil { // who connects runs commands as the container's root
		return nil, fmt.Errorf("cannot protect the exec socket: %w", err)
	}
	f, err := l.File()
	if err != nil {
		return nil, fmt.Errorf("cannot pass on the exec socket: %w", err)
	}
	return f, nil
}

// execInContainer is "stepbox exec [--state-dir DIR] [-t] ID CMD [ARG...]".
// Its exit status is the command's.
func execInContainer(args []string) int {
	var tty bool
	cfg, err := parseStateFlags("exec", args, -2, func(f *flag.FlagSet) {
		f.BoolVar(&tty, "t", false, "give the command a terminal of its own, a pty (tty.go)")
		f.BoolVar(&tty, "tty", false, "give the command a terminal of its own, a pty (tty.go)")
		f.BoolVar(&tty, "it", false, "docker's -it: -t (stdin is always passed on, as with docker's -i)")
		f.Bool("i", true, "docker's -i: accepted; stdin is always passed on")
	})
	if err != nil {
		return failed(exitUsage, err)
	}
	st, err := findContainer(cfg.stateDir, cfg.args[0])
	if err != nil {
		return failed(exitRuntime, err)
	}
	if !st.live() || st.Status != "running" {
		return failed(exitRuntime, fmt.Errorf("container %s is not running", st.ID))
	}
	if !st.Init {
		return failed(exitRuntime, fmt.Errorf("container %s runs without an init (--init=false): exec asks the init to start the command", st.ID))
	}
	if tty {
		return execWithTerminal(st, cfg.args[1:]) // tty.go
	}
	conn, err := sendExec(st, execRequest{Command: cfg.args[1:]}, []int{0, 1, 2})
	if err != nil {
		return failed(exitRuntime, err)
	}
	defer conn.Close()
	go forwardToExec(conn)
	return readExecStatus(conn)
}

// sendExec connects to the container's init and sends the request with
// the files that become the command's stdin, stdout and stderr.
func sendExec(st *state, req execRequest, files []int) (*net.UnixConn, error) {
	conn, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: execSocket(st.dir), Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("cannot reach container %s's init: %w", st.ID, err)
	}
	data, _ := json.Marshal(req)
	if _, _, err := conn.WriteMsgUnix(append(data, '\n'), unix.UnixRights(files...), nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cannot send the command to container %s: %w", st.ID, err)
	}
	return conn, nil
}

// forwardToExec passes Ctrl-C and the like on to the command inside:
// it is not in our terminal's process group, so it would not get them.
func forwardToExec(conn *net.UnixConn) {
	signals := catchSignals()
	for sig := range signals {
		fmt.Fprintf(conn, "%d\n", sig.(unix.Signal))
	}
}

// readExecStatus reads the init's answer: "exit N", or "fail N LINE"
// when the command could not start, which it prints.
func readExecStatus(conn *net.UnixConn) int {
	status, err := waitExecStatus(conn)
	if err != nil {
		return failed(status, err)
	}
	return status
}

// waitExecStatus waits for the init's answer: the command's status, or
// the status and the reason it could not start.
func waitExecStatus(conn *net.UnixConn) (int, error) {
	line, err := bufio.NewReader(conn).ReadString('\n')
	kind, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	code, text, _ := strings.Cut(rest, " ")
	status, convErr := strconv.Atoi(code)
	switch {
	case err != nil || convErr != nil:
		// The init is gone: the container stopped, and the kernel
		// killed the command with it.
		return 128 + int(unix.SIGKILL), nil
	case kind == "fail":
		return status, errors.New(text)
	default:
		return status, nil
	}
}

// serveExec is the init's side: it accepts one connection after another
// and starts each command.
func (in *initProcess) serveExec(sock *os.File) {
	l, err := net.FileListener(sock)
	sock.Close()
	if err != nil {
		warn("init: cannot serve exec: %v", err)
		return
	}
	for {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		go in.runExec(conn.(*net.UnixConn))
	}
}

// runExec starts one exec'd command with the files that came with the
// request, waits for it (through the reaper) and answers with its status.
func (in *initProcess) runExec(conn *net.UnixConn) {
	defer conn.Close()
	req, files, err := readExecRequest(conn)
	var pid int
	var done chan unix.WaitStatus
	status := exitRuntime
	if err == nil {
		pid, done, status, err = in.spawn(req, files)
	}
	closeFiles(files) // the command has its own copies (a pty's slave must not stay open here)
	if err != nil {
		fmt.Fprintf(conn, "fail %d %v\n", status, err)
		return
	}
	go relaySignals(conn, pid)
	fmt.Fprintf(conn, "exit %d\n", exitStatus(<-done))
}

// spawn starts the command of an exec request, registered with the
// reaper before it can end, or returns the status to fail with.
func (in *initProcess) spawn(req execRequest, files []uintptr) (int, chan unix.WaitStatus, int, error) {
	path, status, err := lookPath(req.Command[0])
	if err != nil {
		return 0, nil, status, err
	}
	done := make(chan unix.WaitStatus, 1)
	in.mu.Lock()
	defer in.mu.Unlock()
	pid, err := startProcess(path, req.Command, files, execSession(req.TTY))
	if err != nil {
		return 0, nil, exitCannotExec, fmt.Errorf("cannot execute %q: %w", req.Command[0], err)
	}
	in.execs[pid] = done
	return pid, done, 0, nil
}

// execSession is how a process of exec starts: in a session of its own,
// out of the reach of the container's terminal, and with -t with its pty
// (fd 0 in the new process, Ctty 0) as that session's controlling
// terminal: Ctrl-C typed on it is SIGINT to the command (tty.go).
func execSession(tty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: tty}
}

// closeFiles closes the files that came with an exec request.
func closeFiles(files []uintptr) {
	for _, fd := range files {
		unix.Close(int(fd))
	}
}

// readExecRequest reads the command and the three files sent with it.
func readExecRequest(conn *net.UnixConn) (execRequest, []uintptr, error) {
	var req execRequest
	buf, oob := make([]byte, 64<<10), make([]byte, unix.CmsgSpace(3*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return req, nil, fmt.Errorf("cannot read the exec request: %w", err)
	}
	var files []uintptr
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		fds, _ := unix.ParseUnixRights(&msgs[0])
		for _, fd := range fds {
			unix.CloseOnExec(fd) // passed on by ForkExec's Files alone
			files = append(files, uintptr(fd))
		}
	}
	if len(files) != 3 {
		return req, files, errors.New("the exec request came without stdin, stdout and stderr")
	}
	line, _, _ := strings.Cut(string(buf[:n]), "\n")
	if err := json.Unmarshal([]byte(line), &req); err != nil || len(req.Command) == 0 {
		return req, files, fmt.Errorf("bad exec request %q", line)
	}
	return req, files, nil
}

// relaySignals reads the signal numbers exec forwards, and sends them on.
func relaySignals(conn *net.UnixConn, pid int) {
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if sig, err := strconv.Atoi(strings.TrimSpace(line)); err == nil {
			_ = unix.Kill(pid, unix.Signal(sig))
		}
	}
}
