// Command guestinit is PID 1 of the QEMU test guest. It moves the root
// into a tmpfs (so the step under test can pivot_root), mounts the usual
// filesystems and a pure cgroup v2 hierarchy, loads the kernel modules the
// steps need, runs every test binary listed in the manifest, prints
// marker lines the host parses, and powers the machine off.
//
// It is built static (CGO_ENABLED=0): the initramfs has no libc.
package main

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "guestinit: runs only as PID 1 of the stepbox test VM")
		os.Exit(2)
	}
	// Start on a fresh line: the firmware leaves escape codes on the
	// console without a newline, and markers must start a line.
	say("")
	pass, fail := 0, 0
	if err := boot(); err != nil {
		say(guest.ErrorLine(err))
		fail++
	} else {
		p, f := runAll()
		pass, fail = pass+p, fail+f
	}
	say(guest.ResultLine(pass, fail))
	powerOff()
}

// boot prepares the machine: everything before the first test.
func boot() error {
	start := time.Now()
	if err := switchRoot("/newroot"); err != nil {
		return err
	}
	switched := time.Since(start)
	if err := mountAll(); err != nil {
		return err
	}
	quietKernel()
	if err := enableControllers(); err != nil {
		return err
	}
	m, err := guest.ReadManifest(guest.ManifestPath)
	if err != nil {
		return err
	}
	if err := loadModules(m.Modules); err != nil {
		return err
	}
	if err := setupHost(); err != nil {
		return err
	}
	say(cgroupInfo())
	say(guest.BootedLine(uptime(), switched.Seconds()))
	return nil
}

// runAll runs the manifest's tests and a final leak check.
func runAll() (pass, fail int) {
	m, err := guest.ReadManifest(guest.ManifestPath)
	if err != nil {
		say(guest.ErrorLine(err))
		return 0, 1
	}
	for _, t := range m.Tests {
		if runTest(m, t) {
			pass++
		} else {
			fail++
		}
	}
	if leftClean() {
		pass++
	} else {
		fail++
	}
	return pass, fail
}

// say prints one line on the console (init's stdout is /dev/console).
func say(line string) { fmt.Fprintln(os.Stdout, line) }

// powerOff ends the VM. If power-off fails, returning from PID 1 panics
// the kernel, and with panic=-1 and qemu's -no-reboot that ends it too.
func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		say(guest.ErrorLine(fmt.Errorf("power off: %w", err)))
	}
	time.Sleep(5 * time.Second)
}
