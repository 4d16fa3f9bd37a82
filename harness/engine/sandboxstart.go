package engine

import (
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// passNothingOn makes the binary under test start as from a clean shell,
// whatever the test run itself inherited: no file descriptors but 0, 1
// and 2, and SIGINT and SIGQUIT at their default disposition (a shell
// starts background jobs with both ignored, and an ignored signal stays
// ignored across exec). So cli.fds and cli.signals see only what the
// runtime itself passes on.
func passNothingOn() {
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		markInheritedCloexec()
	}
	// A handled signal is reset to the default in a child; an ignored one
	// is not. Handling them here (and dropping them: the harness stops a
	// sandbox with SIGKILL) gives the binary the default.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGQUIT)
}

// markInheritedCloexec is close_range's fallback for kernels before 5.11.
func markInheritedCloexec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}
}
