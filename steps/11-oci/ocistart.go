//go:build linux

package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The wait before exec. runc's init blocks opening a FIFO (exec.fifo)
// until "start" opens the other end. stepbox's init blocks in accept(2)
// on start.sock instead, which also gives "start" an answer: the
// connection is close-on-exec, so it closes, with nothing said, the
// moment execve succeeds; if the program cannot start, the init writes
// why before it exits. "start" then knows, as runc's cannot, whether the
// program really runs.

// runWhenStarted blocks until "start" connects, then becomes the program.
func runWhenStarted(startFD int, path string, b *bundle, id string) int {
	connFD, err := acceptStart(startFD)
	if err != nil {
		return failed(exitRuntime, err)
	}
	conn := os.NewFile(uintptr(connFD), "start connection")
	fail := func(status int, err error) int {
		fmt.Fprintf(conn, "error %d %v\n", status, err)
		return failed(status, err)
	}
	st := specs.State{Version: specs.Version, ID: id, Status: statusRunning, Pid: 1, Bundle: b.dir}
	if err := runHooks("startContainer", b.spec.Hooks, &record{State: st}); err != nil {
		return fail(exitRuntime, err)
	}
	if err := finalize(b.spec); err != nil {
		return fail(exitRuntime, err)
	}
	err = unix.Exec(path, b.spec.Process.Args, b.spec.Process.Env)
	return fail(exitCannotExec, fmt.Errorf("cannot execute %q: %w", b.spec.Process.Args[0], err))
}

// acceptStart waits for "start": accept(2) blocks until a connection
// comes. The listening socket is closed at once, so a second "start"
// finds nobody listening.
func acceptStart(fd int) (int, error) {
	defer unix.Close(fd)
	for {
		conn, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("cannot wait for start: %w", err)
		}
		return conn, nil
	}
}

// startCommand is "start ID": let a created container's init go on.
func startCommand(g globals, args []string) int {
	f := newFlagSet("start")
	ids, err := parseWithIDs(f, args, 1)
	if err != nil || len(ids) != 1 {
		return ociFailed(exitUsage, errors.New("usage: start ID"))
	}
	r, err := loadRecord(g.root, ids[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	if err := startContainer(r); err != nil {
		return ociFailed(statusOf(err), err)
	}
	return 0
}

// startContainer connects to the init and reads its answer: EOF means
// the program runs.
func startContainer(r *record) error {
	if status := r.current(); status != statusCreated {
		return fmt.Errorf("container %q is %s, not created: start runs a created container, once", r.ID, status)
	}
	answer, err := knock(r.dir)
	if err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(r.dir, "start.sock"))
	if rest, ok := strings.CutPrefix(answer, "error "); ok {
		code, msg, _ := strings.Cut(rest, " ")
		status, _ := strconv.Atoi(code)
		return &exitError{status, fmt.Errorf("container %q did not start: %s", r.ID, msg)}
	}
	r.Status = statusRunning
	if err := r.save(); err != nil {
		return err
	}
	if err := runHooks("poststart", r.Config.Hooks, r); err != nil {
		ociWarn("%v", err) // the spec: a poststart failure is logged, the container runs on
	}
	return nil
}

// knock connects to start.sock (by a relative name, see listenStart)
// and waits for the connection to close, returning what the init said.
func knock(dir string) (string, error) {
	var conn net.Conn
	err := inDir(dir, func() (err error) {
		conn, err = net.Dial("unix", "start.sock")
		return err
	})
	if err != nil {
		return "", fmt.Errorf("cannot reach the container's init in %s: %w", dir, err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	line, err := bufio.NewReader(conn).ReadString('\n')
	if line == "" && err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		return "", nil // closed with nothing said: execve succeeded
	}
	if err != nil && line == "" {
		return "", fmt.Errorf("the container's init did not answer start: %w", err)
	}
	return strings.TrimSpace(line), nil
}
