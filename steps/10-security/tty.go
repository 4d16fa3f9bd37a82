//go:build linux

package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// "stepbox exec -t ID CMD" gives CMD a terminal of its own: a
// pseudo-terminal (pty), a pair of files the kernel joins. What is
// written to the master end arrives, through the pty's line discipline,
// on the slave end as if typed; what the program writes to the slave
// comes out of the master. The slave is the program's terminal: its
// stdin, stdout and stderr, and the controlling terminal of its session
// (setsid, then TIOCSCTTY), so the line discipline turns a typed Ctrl-C
// (the byte 0x03) into SIGINT for the terminal's foreground process
// group, Ctrl-Z into SIGTSTP, and a change of size into SIGWINCH.
//
// Here exec opens the pty, on the host's /dev/ptmx, and sends the init
// the slave as the command's three files over the exec socket (the same
// SCM_RIGHTS message as without -t), with "tty": true; the init starts
// the command in a session of its own with the slave as its controlling
// terminal (execSession). exec keeps the master and copies: its stdin
// to the master, the master to its stdout. Its own terminal goes into
// raw mode meanwhile: no echo, no line editing, no signals, so every
// key, Ctrl-C included, reaches the pty as a byte, and the command's
// terminal does the echoing and the signalling. It goes back as it was
// on every way out. The pty gets exec's terminal's size at the start and
// again on each SIGWINCH exec receives (the terminal window was
// resized); the kernel then sends SIGWINCH to the command.
//
// runc does it the other way round (step 11's ociconsole.go): the init
// opens the pty on the container's own devpts and sends the master out.
// That needs a devpts mount in the container, which this course's /dev
// does without; the price here is that the pty's name (/dev/pts/N of the
// host's devpts) means nothing inside, so `tty` says "not a tty" while
// `[ -t 0 ]` and everything else work.

// execWithTerminal is exec -t: the command on a new pty, this process's
// terminal in raw mode until it ends. Its exit status is the command's.
func execWithTerminal(st *state, command []string) int {
	restore, err := makeRaw(0)
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("the input device is not a TTY: exec -t needs a terminal on stdin (without -t, exec uses pipes): %w", err))
	}
	status, err := runOnPty(st, command)
	restore() // first: an error line printed in raw mode comes out askew
	if err != nil {
		return failed(status, err)
	}
	return status
}

// runOnPty runs the command on a new pty and relays between it and this
// process's stdin and stdout until the command ends.
func runOnPty(st *state, command []string) (int, error) {
	master, slave, err := newPty()
	if err != nil {
		return exitRuntime, err
	}
	defer master.Close()
	resizePty(master) // before the command starts: it reads its size at once
	conn, err := sendExec(st, execRequest{Command: command, TTY: true}, []int{slave, slave, slave})
	unix.Close(slave) // the init has its own copy now; the master reads EIO once the command's copies close too
	if err != nil {
		return exitRuntime, err
	}
	defer conn.Close()
	stopResizing := followWindowSize(master)
	defer stopResizing()
	go func() { _, _ = io.Copy(master, os.Stdin) }() // every key, Ctrl-C too, to the pty's line discipline
	copied := make(chan struct{})
	go func() {
		_, _ = io.Copy(os.Stdout, master)
		close(copied)
	}()
	go forwardToExec(conn) // kill -TERM of exec still reaches the command
	status, err := waitExecStatus(conn)
	drainPty(master, copied)
	return status, err
}

// newPty opens a new pty: /dev/ptmx gives the master end; once
// unlocked, its number N names the slave end, /dev/pts/N. O_NOCTTY: it
// must not become exec's own controlling terminal. The master is
// non-blocking, so the Go runtime polls it and a read can time out.
func newPty() (master *os.File, slave int, err error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot open a pseudo-terminal (/dev/ptmx): %w", err)
	}
	master = os.NewFile(uintptr(fd), "pty master")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt(3)
		master.Close()
		return nil, 0, fmt.Errorf("cannot unlock the pseudo-terminal: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN) // ptsname(3)
	if err == nil {
		slave, err = unix.Open("/dev/pts/"+strconv.Itoa(n), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		master.Close()
		return nil, 0, fmt.Errorf("cannot open the pseudo-terminal's slave end: %w", err)
	}
	return master, slave, nil
}

// makeRaw puts the terminal on fd in raw mode, as cfmakeraw(3) does, and
// returns how to put it back: no echo, no line editing (ICANON), no
// signals from keys (ISIG), no translation of bytes either way. It fails
// if fd is no terminal.
func makeRaw(fd int) (restore func(), err error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0 // a read returns each byte as it comes
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// resizePty gives the pty the size of exec's terminal (stdin). Setting a
// new size makes the kernel send SIGWINCH to the pty's foreground
// process group, as a resized terminal window does to exec.
func resizePty(master *os.File) {
	ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	if raw, err := master.SyscallConn(); err == nil { // not Fd(), which would make the master blocking
		_ = raw.Control(func(fd uintptr) { _ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// followWindowSize resizes the pty on each SIGWINCH exec gets, until the
// returned function is called.
func followWindowSize(master *os.File) (stop func()) {
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	go func() {
		for range winch {
			resizePty(master)
		}
	}()
	return func() {
		signal.Stop(winch)
		close(winch)
	}
}

// drainPty lets the command's last output through once it has ended:
// the copy ends when the master reads EIO, every slave end closed. A
// process the command left in the background may keep one open: give up
// after a second.
func drainPty(master *os.File, copied chan struct{}) {
	select {
	case <-copied:
	case <-time.After(time.Second):
		_ = master.SetReadDeadline(time.Now())
		<-copied
	}
}
