package engine

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// A Netns is a network namespace made by the harness, held open by a
// file: it lives until Close, and then goes with everything in it (its
// end of any veth pair too). Nothing in it is ever the host's.
type Netns struct {
	file *os.File
}

// NewNetns makes an empty network namespace (lo, down).
func NewNetns() (*Netns, error) {
	var ns *Netns
	err := InThread("", func() error {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("making a network namespace: %w", err)
		}
		f, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			return fmt.Errorf("opening the new network namespace: %w", err)
		}
		ns = &Netns{file: f}
		return nil
	})
	return ns, err
}

// Path names the namespace for JoinNetns, a sandbox's JoinNet, or
// another process of this harness.
func (n *Netns) Path() string { return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.file.Fd()) }

// Fd is the open namespace, for netlink.NsFd.
func (n *Netns) Fd() int { return int(n.file.Fd()) }

// Close lets the namespace go.
func (n *Netns) Close() error { return n.file.Close() }

// InThread runs fn on a thread of its own in the network namespace at
// path ("" the caller's), and never uses that thread again: a goroutine
// that ends locked to its thread takes the thread with it, so no other
// code of the harness ever runs in a namespace it did not ask for.
func InThread(path string, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := JoinNetns(path); err != nil {
			done <- err
			return
		}
		done <- fn()
	}()
	return <-done
}
