// Command vmtest runs the project's privileged tests in a second kernel:
// a pinned Debian kernel booted directly under qemu-system-x86_64 (amd64)
// or qemu-system-aarch64 (arm64) with an initramfs of static test
// binaries, on a pure cgroup v2 hierarchy. It needs no root and no KVM;
// it uses KVM when /dev/kvm opens and the guest is the host's own
// architecture, and falls back to software emulation when the guest has
// not reached its init under KVM within 90 s, as happens nested in some
// VMs; it then records that in the cache (kvm-hangs, for this boot of the
// host) and later runs use software emulation at once
// ($STEPBOX_QEMU_ACCEL=tcg forces software emulation, =kvm forbids the
// fallback).
//
//	vmtest [--arch arm64] [--timeout 30m] [--only steps/03-pid-mnt] [--break pid.one] [--log FILE]
//
// Exit status: 0 every test passed; 1 the guest reported a failure;
// 3 the run could not happen or the guest never reported (build error,
// no qemu, timeout, crash); 2 bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/vm/qemu"
)

const (
	exitPass       = 0
	exitTestFailed = 1
	exitUsage      = 2
	exitNoResult   = 3
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("vmtest", flag.ContinueOnError)
	o := qemu.Options{Log: os.Stderr}
	var only, logFile, work string
	fs.StringVar(&o.Arch, "arch", "amd64", "the guest's architecture: "+strings.Join(qemu.ArchNames(), " or "))
	fs.DurationVar(&o.Timeout, "timeout", 30*time.Minute, "hard limit on the whole VM run")
	fs.DurationVar(&o.TestTimeout, "test-timeout", 10*time.Minute, "limit on each test binary in the guest")
	// The initramfs (~350 MiB, and growing with the steps) is in RAM twice
	// while the kernel unpacks it: 1024 MiB stopped being enough.
	fs.IntVar(&o.MemoryMB, "memory", 2048, "guest RAM in MiB")
	fs.IntVar(&o.CPUs, "cpus", 2, "guest CPUs")
	fs.StringVar(&only, "only", "", "comma-separated test packages to run, e.g. steps/03-pid-mnt (default all)")
	fs.StringVar(&o.RunPattern, "run", "", "-test.run pattern for every test binary")
	fs.StringVar(&o.HarnessRun, "harness-run", "", "-test.run pattern for the harness package only, e.g. TestChecksRejectMutants (the mutant proof)")
	fs.BoolVar(&o.OwnChecks, "own-checks", false, "each step's test runs only the checks its own lesson adds, not every earlier step's too")
	fs.StringVar(&o.Break, "break", "", "replace the step binary with the known-bad program for this check, e.g. pid.one (the run must then fail)")
	fs.StringVar(&o.KernelDeb, "kernel-deb", "", "kernel .deb to use instead of downloading the guest's pinned linux-image")
	fs.StringVar(&logFile, "log", "", "also write the guest console to this file")
	fs.StringVar(&work, "work", "", "scratch directory (default: a new temporary one, removed afterwards)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if only != "" {
		o.Only = strings.Split(only, ",")
	}
	if err := prepare(&o, work); err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		return exitNoResult
	}
	if work == "" {
		defer os.RemoveAll(o.Work)
	}
	if logFile != "" {
		f, err := os.Create(logFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
			return exitNoResult
		}
		defer f.Close()
		o.Console = io.MultiWriter(os.Stdout, f)
	} else {
		o.Console = os.Stdout
	}
	start := time.Now()
	r, err := qemu.RunSuite(context.Background(), o)
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmtest: %v\n", err)
		return exitNoResult
	}
	return report(r, time.Since(start))
}

// prepare fills in the paths: the module root, the cache, the scratch.
func prepare(o *qemu.Options, work string) error {
	root, err := engine.ModuleRoot()
	if err != nil {
		return err
	}
	o.Root = root
	if o.Cache, err = qemu.DefaultCache(); err != nil {
		return err
	}
	if work == "" {
		work, err = os.MkdirTemp("", "stepbox-vmtest-")
		if err != nil {
			return err
		}
	}
	o.Work = work
	return os.MkdirAll(work, 0o755)
}

// report prints the summary and picks the exit status.
func report(r *qemu.Run, total time.Duration) int {
	s := r.Summary
	fmt.Fprintln(os.Stderr)
	for _, out := range s.Outcomes {
		status := "PASS"
		if !out.Pass {
			status = "FAIL"
		}
		fmt.Fprintf(os.Stderr, "vmtest: %s %-24s exit=%d %6.1fs\n", status, out.Name, out.Exit, out.Seconds)
	}
	for _, e := range s.Errors {
		fmt.Fprintf(os.Stderr, "vmtest: guest error: %s\n", e)
	}
	fmt.Fprintf(os.Stderr, "vmtest: boot to init %.1fs (guest uptime %.1fs), VM %.1fs, total %.1fs\n",
		r.BootTime.Seconds(), s.Uptime, r.Elapsed.Seconds(), total.Seconds())
	switch {
	case r.TimedOut:
		fmt.Fprintln(os.Stderr, "vmtest: FAIL: the VM hit the timeout before reporting")
		return exitNoResult
	case !s.Result:
		fmt.Fprintf(os.Stderr, "vmtest: FAIL: the guest never reported a result (booted: %v; qemu: %v)\n", s.Booted, r.ExitErr)
		return exitNoResult
	case s.OK():
		fmt.Fprintf(os.Stderr, "vmtest: PASS: pass=%d fail=%d\n", s.Pass, s.Fail)
		return exitPass
	default:
		fmt.Fprintf(os.Stderr, "vmtest: FAIL: pass=%d fail=%d\n", s.Pass, s.Fail)
		return exitTestFailed
	}
}
