// Command gofloor is the bench's "go-floor" row: the least a Go runtime
// can do to start a container. One Go process clones straight into new
// UTS, IPC, mount and PID namespaces, chroots and execs the command; no
// re-exec, no second Go start, no pivot_root, no /proc, no cgroup. A step
// that re-execs itself cannot be faster than this, so its ratio to
// unshare, measured in the same run, is the lowest ratio a Go step can
// reach.
//
// Usage: gofloor ROOTFS /ABSOLUTE/CMD [ARG...]
package main

import (
	"fmt"
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gofloor ROOTFS CMD [ARG...]")
		os.Exit(2)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// Cloneflags and Chroot are applied by Go's own fork code, between
	// clone and exec, so no Go code runs in the child.
	cmd.SysProcAttr = &unix.SysProcAttr{
		Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNS | unix.CLONE_NEWPID,
		Chroot:     os.Args[1],
	}
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			os.Exit(exit.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "gofloor:", err)
		os.Exit(125)
	}
}
