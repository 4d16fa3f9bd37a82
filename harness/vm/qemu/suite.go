package qemu

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/fsutil"
	"github.com/stepbox/stepbox/harness/vm/guest"
)

// Options configure one run of the test suite in a VM.
type Options struct {
	Arch        string        // the guest's GOARCH: amd64 or arm64
	Root        string        // the module root on the host
	Cache       string        // where the kernel is kept between runs
	Work        string        // scratch space for binaries and the initramfs
	KernelDeb   string        // a kernel .deb to use instead of downloading
	Timeout     time.Duration // hard limit on the VM
	TestTimeout time.Duration // limit on each test binary in the guest
	MemoryMB    int
	CPUs        int
	Only        []string  // test packages to run ("steps/03-pid-mnt"); all when empty
	RunPattern  string    // -test.run for every test binary
	HarnessRun  string    // -test.run for the harness package only (instead of RunPattern)
	OwnChecks   bool      // each step's test runs only its own lesson's checks (harness.StepChecksEnv)
	Break       string    // a check ID: its mutant replaces the step binary
	Log         io.Writer // progress lines
	Console     io.Writer // the guest's console
}

// DefaultCache is $STEPBOX_CACHE/vm, or stepbox/vm in the user's cache.
func DefaultCache() (string, error) {
	if dir := os.Getenv("STEPBOX_CACHE"); dir != "" {
		return filepath.Join(dir, "vm"), nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set STEPBOX_CACHE: %w", err)
	}
	return filepath.Join(base, "stepbox", "vm"), nil
}

// RunSuite builds everything, boots the VM and returns what it reported.
// An error means the run could not happen at all.
func RunSuite(ctx context.Context, o Options) (*Run, error) {
	arch, err := LookArch(o.Arch)
	if err != nil {
		return nil, err
	}
	if _, err := LookQemu(arch); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	accel, err := o.chooseAccel(arch)
	if err != nil {
		return nil, err
	}
	var k *Kernel
	var busybox string
	err = o.phase("kernel "+arch.Kernel.Package, func() (err error) {
		if k, err = FetchKernel(o.Cache, o.KernelDeb, arch); err != nil {
			return err
		}
		busybox, err = FetchBusybox(o.Cache, arch)
		return err
	})
	if err != nil {
		return nil, err
	}
	initramfs, err := o.buildImage(arch, k, busybox)
	if err != nil {
		return nil, err
	}
	m := &Machine{Arch: arch, Accel: accel, Kernel: k.Vmlinuz, Initramfs: initramfs,
		MemoryMB: o.MemoryMB, CPUs: o.CPUs, Timeout: o.Timeout, Console: o.Console}
	return o.boot(ctx, m, k.Release)
}

// chooseAccel is ChooseAccel, except that KVM which hung earlier in this
// boot of the host (KVMHangsFile) is not tried again unless asked for.
func (o *Options) chooseAccel(arch Arch) (Accel, error) {
	accel, err := ChooseAccel(arch.GOARCH)
	if err != nil || !mayFallBack(accel, os.Getenv(AccelEnv)) {
		return accel, err
	}
	if path, hung := kvmHung(o.Cache); hung {
		return Accel{"tcg", fmt.Sprintf("KVM did not bring a guest to its init earlier in this boot of the host (%s; remove it to try KVM again)", path)}, nil
	}
	return accel, nil
}

// boot boots m. When m runs under KVM chosen because /dev/kvm opened and
// the guest does not reach its init within kvmBootDeadline, KVM is there
// and does not work (seen nested in another VM, where the guest hangs
// after the firmware): boot again under software emulation, which always
// works, and record it (KVMHangsFile) for the runs after this one.
func (o *Options) boot(ctx context.Context, m *Machine, release string) (*Run, error) {
	if mayFallBack(m.Accel, os.Getenv(AccelEnv)) {
		m.BootDeadline = kvmBootDeadline
	}
	o.logf("booting %s under %s: %s %s", release, m.Accel, m.Arch.Qemu, strings.Join(m.Args(), " "))
	run, err := m.Boot(ctx)
	if err != nil || !run.NoBoot {
		return run, err
	}
	m.Accel = Accel{"tcg", fmt.Sprintf("KVM did not bring the guest to its init within %s", kvmBootDeadline)}
	m.BootDeadline = 0
	o.logf("no init under KVM after %s: falling back to software emulation", kvmBootDeadline)
	if err := recordKVMHung(o.Cache); err != nil {
		o.logf("%v", err)
	}
	o.logf("booting %s under %s: %s %s", release, m.Accel, m.Arch.Qemu, strings.Join(m.Args(), " "))
	return m.Boot(ctx)
}

// kvmBootDeadline is how long a guest chosen to run under KVM may take to
// reach its init before the run falls back to software emulation. Under
// KVM that takes seconds; software emulation took 18 s with the whole
// suite's initramfs on a 2-CPU CI machine, so 90 s leaves a wide margin.
var kvmBootDeadline = 90 * time.Second

// mayFallBack says whether a run under accel may go back to software
// emulation when the guest does not boot: only KVM chosen because
// /dev/kvm opened, not KVM asked for with $STEPBOX_QEMU_ACCEL=kvm (which
// means "fail rather than fall back").
func mayFallBack(accel Accel, forced string) bool {
	return accel.Name == "kvm" && forced == ""
}

// buildImage compiles the guest's binaries and writes the initramfs.
func (o *Options) buildImage(arch Arch, k *Kernel, busybox string) (string, error) {
	mods, err := ResolveModules(k.Modules, GuestModules)
	if err != nil {
		return "", err
	}
	var built *Built
	if err := o.phase("build static binaries ("+arch.GOARCH+")", func() (err error) {
		built, err = BuildFor(o.Root, filepath.Join(o.Work, "bin"), arch.GOARCH, o.Only, o.Break)
		return err
	}); err != nil {
		return "", err
	}
	if err := o.applyFilters(built); err != nil {
		return "", err
	}
	initramfs := filepath.Join(o.Work, "initramfs.cpio")
	img := &Image{Built: built, Busybox: busybox, Modules: mods, Root: o.Root, Manifest: o.manifest(built, mods)}
	if err := o.phase("write initramfs", func() error { return WriteInitramfs(initramfs, img) }); err != nil {
		return "", err
	}
	if info, err := os.Stat(initramfs); err == nil {
		o.logf("initramfs: %d MiB, %d test binaries, modules %s", info.Size()>>20, len(built.Tests), moduleNames(mods))
	}
	return initramfs, nil
}

// applyFilters applies o.Break (BuildFor has kept only o.Only's tests).
func (o *Options) applyFilters(b *Built) error {
	if o.Break != "" {
		return BreakStep(b.Prebuilt, o.Break, o.logf)
	}
	return nil
}

// BreakStep replaces a step's prebuilt binary with the mutant for check,
// so the guest's test of that step runs a known-bad program and must
// fail: proof that a broken step cannot pass in the VM.
func BreakStep(prebuilt, check string, logf func(string, ...any)) error {
	for _, m := range harness.Mutants {
		if m.Check != check {
			continue
		}
		step := engine.StepBinaryName(m.Step)
		if err := fsutil.CopyFile(filepath.Join(prebuilt, harness.MutantName(m)), filepath.Join(prebuilt, step), 0o755); err != nil {
			return fmt.Errorf("breaking %s: %w", step, err)
		}
		logf("broken on purpose: %s is the mutant for %s (%s)", step, m.Check, m.Defect)
		return nil
	}
	return fmt.Errorf("no mutant for check %q in harness.Mutants", check)
}

// manifest tells the init what to run: each test binary in its package's
// source folder, with privileged tests required and prebuilt binaries.
func (o *Options) manifest(b *Built, mods []Module) guest.Manifest {
	m := guest.Manifest{
		Env: []string{
			engine.RequirePrivilegedEnv + "=1",
			engine.PrebuiltEnv + "=" + guest.PrebuiltDir,
			engine.BusyboxEnv + "=/bin/busybox",
			"STEPBOX_CACHE=/tmp/cache",
		},
		TestTimeout: guest.Duration{Duration: o.TestTimeout + 30*time.Second},
	}
	if o.OwnChecks {
		m.Env = append(m.Env, harness.StepChecksEnv+"=own")
	}
	for _, mod := range mods {
		m.Modules = append(m.Modules, mod.Name)
	}
	for _, t := range b.Tests {
		args := []string{"-test.v", "-test.timeout=" + o.TestTimeout.String()}
		run := o.RunPattern
		if t.Name == "harness" && o.HarnessRun != "" {
			run = o.HarnessRun
		}
		if run != "" {
			args = append(args, "-test.run="+run)
		}
		if t.Name == "harness" {
			// The known-bad programs' whole transcripts are what a
			// learner reads, kept as golden files and compared on the
			// host by make test; every check's rejection of its
			// known-bad program is proven in the guest by
			// TestChecksRejectMutants. Under emulation the transcripts
			// would cost five times that proof.
			args = append(args, "-test.skip=^TestMutantTranscripts$")
		}
		m.Tests = append(m.Tests, guest.Test{
			Name: t.Name,
			Bin:  guestTestBin(t),
			Dir:  path.Join(guest.SourceDir, t.Name),
			Args: args,
		})
	}
	return m
}

// phase runs fn and logs how long it took.
func (o *Options) phase(name string, fn func() error) error {
	start := time.Now()
	err := fn()
	status := "done"
	if err != nil {
		status = "FAILED"
	}
	o.logf("%-28s %s in %.1fs", name, status, time.Since(start).Seconds())
	return err
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "vmtest: "+format+"\n", args...)
	}
}

func moduleNames(mods []Module) string {
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	return strings.Join(names, ",")
}
