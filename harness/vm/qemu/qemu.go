package qemu

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

// qemuBinary is the emulator; Debian's qemu-system-x86 package has it.
const qemuBinary = "qemu-system-x86_64"

// qemuRemedy is the one line printed when the emulator is missing.
const qemuRemedy = "qemu-system-x86_64 not found: install it with `sudo apt-get install qemu-system-x86`"

// KernelCmdline sends the console to the first serial port, keeps the
// boot quiet, and makes a panic reboot at once, which -no-reboot turns
// into qemu exiting: a crashed guest ends the run instead of hanging it.
const KernelCmdline = "console=ttyS0 panic=-1 quiet"

// Machine is one VM to boot.
type Machine struct {
	Kernel    string        // the bzImage
	Initramfs string        // the cpio archive
	MemoryMB  int           // guest RAM
	CPUs      int           // guest CPUs
	Timeout   time.Duration // hard limit on the whole run
	Console   io.Writer     // where the serial console is copied, line by line
}

// Run is what one boot produced.
type Run struct {
	Summary  guest.Summary
	BootTime time.Duration // from starting qemu to the init's BOOTED line
	Elapsed  time.Duration // from starting qemu to its exit
	TimedOut bool
	ExitErr  error // qemu's own exit status, if not zero
}

// LookQemu finds the emulator or returns the one-line remedy.
func LookQemu() (string, error) {
	p, err := exec.LookPath(qemuBinary)
	if err != nil {
		return "", errors.New(qemuRemedy)
	}
	return p, nil
}

// Args is qemu's command line: direct kernel boot, no firmware disk, no
// graphics, the serial console on stdout, and software emulation, which
// works everywhere (no /dev/kvm needed).
func (m *Machine) Args() []string {
	return []string{
		"-machine", "pc,accel=tcg",
		"-cpu", "max",
		"-smp", strconv.Itoa(m.CPUs),
		"-m", strconv.Itoa(m.MemoryMB),
		"-nodefaults", "-nographic", "-no-reboot",
		"-serial", "stdio",
		"-kernel", m.Kernel,
		"-initrd", m.Initramfs,
		"-append", KernelCmdline,
	}
}

// Boot runs the machine to the end (power-off, panic or timeout), copying
// its console to m.Console and parsing the init's marker lines.
func (m *Machine) Boot(ctx context.Context) (*Run, error) {
	bin, err := LookQemu()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
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
		}
	})
	waitErr := cmd.Wait()
	run.Elapsed = time.Since(start)
	if ctx.Err() != nil {
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
