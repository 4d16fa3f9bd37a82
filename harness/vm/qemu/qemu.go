package qemu

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

// Machine is one VM to boot.
type Machine struct {
	Arch      Arch
	Accel     Accel
	Kernel    string        // the kernel image
	Initramfs string        // the cpio archive
	MemoryMB  int           // guest RAM
	CPUs      int           // guest CPUs
	Timeout   time.Duration // hard limit on the whole run
	// BootDeadline, when not 0, stops qemu if the init has not said it
	// is up by then (Run.NoBoot).
	BootDeadline time.Duration
	Console      io.Writer // where the serial console is copied, line by line
}

// Run is what one boot produced.
type Run struct {
	Summary  guest.Summary
	BootTime time.Duration // from starting qemu to the init's BOOTED line
	Elapsed  time.Duration // from starting qemu to its exit
	TimedOut bool
	NoBoot   bool  // the init was not up by the machine's BootDeadline, so qemu was stopped
	ExitErr  error // qemu's own exit status, if not zero
}

// LookQemu finds the guest's emulator or returns the one-line remedy.
func LookQemu(a Arch) (string, error) {
	p, err := exec.LookPath(a.Qemu)
	if err != nil {
		return "", fmt.Errorf("%s not found: install it with `sudo apt-get install %s`", a.Qemu, a.QemuPackage)
	}
	return p, nil
}

// Args is qemu's command line: direct kernel boot, no firmware disk, no
// graphics, the serial console on stdout, and the accelerator chosen
// (software emulation, TCG, works everywhere; KVM needs /dev/kvm).
func (m *Machine) Args() []string {
	cpu := m.Arch.CPU
	if m.Accel.Name == "tcg" && m.Arch.TCGCPUOpts != "" {
		cpu += "," + m.Arch.TCGCPUOpts
	}
	return []string{
		"-machine", m.Arch.Machine + ",accel=" + m.Accel.Name,
		"-cpu", cpu,
		"-smp", strconv.Itoa(m.CPUs),
		"-m", strconv.Itoa(m.MemoryMB),
		"-nodefaults", "-nographic", "-no-reboot",
		"-serial", "stdio",
		"-kernel", m.Kernel,
		"-initrd", m.Initramfs,
		"-append", m.Arch.KernelCmdline(),
	}
}

// Boot runs the machine to the end (power-off, panic or timeout), copying
// its console to m.Console and parsing the init's marker lines.
func (m *Machine) Boot(ctx context.Context) (*Run, error) {
	bin, err := LookQemu(m.Arch)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	booted := make(chan struct{})
	var noBoot atomic.Bool
	if m.BootDeadline > 0 {
		watchdog := time.AfterFunc(m.BootDeadline, func() {
			select {
			case <-booted:
			default:
				noBoot.Store(true)
				cancel()
			}
		})
		defer watchdog.Stop()
	}
	cmd := exec.CommandContext(ctx, bin, m.Args()...)
	cmd.Stdin = nil // qemu must not put a terminal in raw mode
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	console, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	run := &Run{}
	readConsole(console, m.Console, func(line string) {
		run.Summary.Feed(line)
		if run.BootTime == 0 && run.Summary.Booted {
			run.BootTime = time.Since(start)
			close(booted)
		}
	})
	waitErr := cmd.Wait()
	run.Elapsed = time.Since(start)
	if noBoot.Load() {
		run.NoBoot = true
	} else if ctx.Err() != nil {
		run.TimedOut = true
	} else if waitErr != nil {
		run.ExitErr = fmt.Errorf("%s: %w", bin, waitErr)
	}
	return run, nil
}

// readConsole copies the console line by line, calling feed on each line,
// until qemu closes it.
func readConsole(r io.Reader, out io.Writer, feed func(string)) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			clean := strings.TrimRight(line, "\r\n")
			if out != nil {
				fmt.Fprintln(out, clean)
			}
			feed(clean)
		}
		if err != nil {
			return
		}
	}
}
