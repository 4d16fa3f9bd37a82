package engine

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal pair: /dev/ptmx, unlocked, and its
// slave /dev/pts/N, neither a controlling terminal of ours. A run or a
// session request given the slave (Invocation.Terminal,
// Session.RunOnTerminal) has a terminal; the harness types on the master.
func OpenPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	// SyscallConn, not Fd: Fd would make the master blocking, and a
	// read of it could then never be cut short by Close.
	var n int
	raw, err := master.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			if err = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); err == nil {
				n, err = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
			}
		})
		if err == nil {
			err = cerr
		}
	}
	if err == nil {
		slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	}
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// SetTerminalSize sets a pty's window size, through its slave end: the
// kernel sends SIGWINCH to the terminal's foreground process group.
func SetTerminalSize(slave *os.File, rows, cols int) error {
	return unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)})
}

// TerminalLog collects what a pty's master end reads.
type TerminalLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

// CopyFrom reads f into the log until f fails (closed, or every slave
// end gone).
func (l *TerminalLog) CopyFrom(f *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		l.mu.Lock()
		l.buf.Write(b[:n])
		l.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// String is everything read so far.
func (l *TerminalLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
