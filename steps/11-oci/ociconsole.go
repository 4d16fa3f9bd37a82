//go:build linux

package main

import (
	"fmt"
	"net"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// With process.terminal the program gets a terminal of its own, a
// pseudo-terminal made inside the container, from the container's
// /dev/pts. Its master end, the side a user types into, must reach the
// engine, which lives on after the runtime exits: the engine listens on
// a unix socket (--console-socket) and the init sends it the master's
// file descriptor in an SCM_RIGHTS message, the one way to hand an open
// file to another process. The slave end becomes the program's stdin,
// stdout, stderr and controlling terminal.

// dialConsole connects to the engine's console socket, in create: the
// init gets the connection as an fd.
func dialConsole(path string) (*os.File, error) {
	conn, err := net.Dial("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to --console-socket %s: %w", path, err)
	}
	defer conn.Close()
	f, err := conn.(*net.UnixConn).File()
	if err != nil {
		return nil, fmt.Errorf("cannot pass on --console-socket %s: %w", path, err)
	}
	return f, nil
}

// setupConsole makes the pty, sends its master, and takes the slave.
func setupConsole(socketFD int, size *specs.Box) error {
	if socketFD == 0 {
		return fmt.Errorf("process.terminal is true but no --console-socket was given: the engine must receive the terminal")
	}
	master, slave, err := openPty()
	if err != nil {
		return err
	}
	defer unix.Close(master) // the engine holds it now
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		_ = unix.IoctlSetWinsize(master, unix.TIOCSWINSZ, ws) // a wrong size is cosmetic
	}
	if err := sendFD(socketFD, master); err != nil {
		return err
	}
	return takeTerminal(slave)
}

// openPty opens a new pty pair: /dev/ptmx gives the master; unlockpt,
// then TIOCGPTPEER opens its slave without a path (Linux 4.13).
func openPty() (master, slave int, err error) {
	master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("cannot open /dev/ptmx (is devpts mounted on /dev/pts?): %w", err)
	}
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(master)
		return 0, 0, fmt.Errorf("cannot unlock the pty: %w", err)
	}
	// TIOCGPTPEER's argument is the open(2) flags of the slave.
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY)
	if errno != 0 {
		unix.Close(master)
		return 0, 0, fmt.Errorf("cannot open the pty's slave: %w", errno)
	}
	return master, int(fd), nil
}

// sendFD sends fd over the connected unix socket with SCM_RIGHTS.
func sendFD(socketFD, fd int) error {
	rights := unix.UnixRights(fd)
	if err := unix.Sendmsg(socketFD, []byte("/dev/ptmx"), rights, nil, 0); err != nil {
		return fmt.Errorf("cannot send the terminal to --console-socket: %w", err)
	}
	return unix.Close(socketFD)
}

// takeTerminal makes the slave this process's terminal: a new session
// (setsid), the slave its controlling terminal (TIOCSCTTY), and the
// slave as fds 0, 1 and 2.
func takeTerminal(slave int) error {
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("cannot start a session for the terminal: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("cannot make the pty the controlling terminal: %w", err)
	}
	for fd := range 3 {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("cannot make the pty fd %d: %w", fd, err)
		}
	}
	return unix.Close(slave)
}
