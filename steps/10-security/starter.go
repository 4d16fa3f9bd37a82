//go:build linux

package main

import "golang.org/x/sys/unix"

// The bounding set is dropped on one thread alone (dropBoundingSet): the
// child's main thread, which child locks its goroutine to from the start.
// Dropping it on every thread would cost 27 calls that each stop every
// thread of the Go runtime (see "Why it is fast"), and a process takes
// the bounding set of the thread that forks it, not of the process. So
// every process of the container is forked from that thread: the
// command by the main goroutine itself, and exec's processes, whose
// requests are served on other goroutines (exec.go), by handing the fork
// over to it (onStartThread), which the main goroutine serves while the
// reaper waits on another (serveStarts).
//
// The other threads keep the full bounding set, and nothing else: capset,
// no_new_privs and the filter are still on every thread (confine), so no
// thread could gain a capability at an exec either.

// startTID is the thread that dropped the bounding set; 0 before.
var startTID int

// forks carries the forks handed over to startTID's thread.
var forks = make(chan func())

// onStartThread runs fork on the thread that dropped the bounding set:
// here when the caller is on it (the main goroutine, locked to it), else
// by handing it over and waiting.
func onStartThread(fork func()) {
	if startTID == 0 || unix.Gettid() == startTID {
		fork()
		return
	}
	done := make(chan struct{})
	forks <- func() {
		fork()
		close(done)
	}
	<-done
}

// serveStarts runs wait (the reaper) on another goroutine and, on this
// one, which must be on the start thread, every fork handed over, until
// wait returns its status.
func serveStarts(wait func() int) int {
	ended := make(chan int, 1)
	go func() { ended <- wait() }()
	for {
		select {
		case fork := <-forks:
			fork()
		case status := <-ended:
			return status
		}
	}
}
