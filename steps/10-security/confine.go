//go:build linux

package main

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

// confine is the child's last act before it execs the command or
// becomes the init: it takes away what the container does not need.
// The order is the lesson:
//
//  1. the bounding set first: dropping from it needs CAP_SETPCAP, which
//     capset may take away next;
//  2. capset for effective, permitted, inheritable. The ambient set needs
//     no clearing: a new user namespace starts with it empty (the kernel
//     empties it in set_cred_user_ns), and exec never adds to it;
//  3. no_new_privs, which lets a process without CAP_SYS_ADMIN (we just
//     dropped it) install a filter;
//  4. the seccomp filter last, as close to exec as it can be: from here
//     on mount, unshare and the rest fail, the runtime's own setup
//     included, so every mount must be done before.
//
// Capabilities and no_new_privs belong to a thread, not to the process,
// and a Go program runs on several threads: the init serves "stepbox
// exec" from whichever thread its goroutine is on. So capset is made on
// every thread (allThreads), and the filter is installed with TSYNC,
// which also gives every thread the no_new_privs set on this one. The
// bounding set, 27 calls where the
// others take one, is dropped on the child's main thread alone, and
// every process of the container is forked from that thread
// (starter.go): a process takes the bounding set of the thread that
// forks it.
func confine(cfg config) error {
	keep := keptCaps(cfg.capAdd, cfg.capDrop)
	if err := dropBoundingSet(keep); err != nil {
		return err
	}
	if err := setCaps(keep); err != nil {
		return err
	}
	if err := setNoNewPrivs(); err != nil {
		return err
	}
	return installSeccomp()
}

// allThreads makes a system call on every thread of this process, one
// after the other, with syscall.AllThreadsSyscall. Go can do that only
// when it manages every thread itself, that is without cgo.
func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == unix.ENOTSUP {
		return errors.New("cannot change every thread's credentials in a binary built with cgo: build it with CGO_ENABLED=0")
	}
	if errno != 0 {
		return errno
	}
	return nil
}
