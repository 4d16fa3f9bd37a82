package qemu

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

// fakeQemu writes a script that stands in for qemu: it ignores qemu's
// arguments and runs body.
func fakeQemu(t *testing.T, body string) Arch {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qemu")
	require.NoError(t, os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return Arch{Qemu: path, Machine: "pc", CPU: "max", Console: "ttyS0"}
}

// A guest that never says it is up is stopped at the boot deadline and
// reported as not booted, not as timed out; one that says so in time
// runs to its end.
func TestBootDeadline(t *testing.T) {
	kvm := Accel{"kvm", "test"}
	hung := &Machine{Arch: fakeQemu(t, "exec sleep 30"), Accel: kvm, Timeout: time.Minute,
		BootDeadline: 300 * time.Millisecond}
	run, err := hung.Boot(context.Background())
	require.NoError(t, err)
	assert.True(t, run.NoBoot, "a guest that never boots must be reported as such")
	assert.False(t, run.TimedOut)
	assert.Less(t, run.Elapsed, 20*time.Second, "qemu must be stopped at the deadline, not at the timeout")

	up := &Machine{Arch: fakeQemu(t, "echo '"+guest.BootedLine(1, 0.5)+"'; sleep 1"), Accel: kvm,
		Timeout: time.Minute, BootDeadline: 300 * time.Millisecond}
	run, err = up.Boot(context.Background())
	require.NoError(t, err)
	assert.False(t, run.NoBoot, "a guest that booted in time must not be stopped")
	assert.True(t, run.Summary.Booted)
	assert.GreaterOrEqual(t, run.Elapsed, time.Second, "it runs to its end, past the deadline")
}

// Only KVM that was chosen automatically falls back to software
// emulation; KVM asked for must fail instead, and TCG has nowhere to go.
func TestMayFallBack(t *testing.T) {
	assert.True(t, mayFallBack(Accel{"kvm", ""}, ""))
	assert.False(t, mayFallBack(Accel{"kvm", ""}, "kvm"))
	assert.False(t, mayFallBack(Accel{"tcg", ""}, ""))
	assert.False(t, mayFallBack(Accel{"tcg", ""}, "tcg"))
}

// A guest that does not come up under KVM is booted again under software
// emulation, and the finding is recorded for this boot of the host only.
func TestKVMThatHangsFallsBackAndIsRemembered(t *testing.T) {
	shortKVMDeadline(t, "")
	cache := t.TempDir()
	// The stand-in hangs when its arguments ask for KVM, and boots under TCG.
	arch := fakeQemu(t, `case "$*" in *accel=kvm*) exec sleep 30;; esac; echo '`+guest.BootedLine(1, 0.5)+`'`)
	var log bytes.Buffer
	o := &Options{Cache: cache, Log: &log}
	m := &Machine{Arch: arch, Accel: Accel{"kvm", "test"}, Timeout: time.Minute}

	_, hung := kvmHung(cache)
	require.False(t, hung, "nothing is recorded before the first boot")
	run, err := o.boot(context.Background(), m, "test")
	require.NoError(t, err)
	assert.True(t, run.Summary.Booted, "the second boot, under TCG, must come up")
	assert.Equal(t, "tcg", m.Accel.Name)
	assert.Contains(t, log.String(), "falling back to software emulation")
	_, hung = kvmHung(cache)
	assert.True(t, hung, "the hang must be recorded for the next run")

	// Recorded in another boot of the host, it says nothing of this one.
	require.NoError(t, os.WriteFile(filepath.Join(cache, KVMHangsFile), []byte("another-boot\n"), 0o644))
	_, hung = kvmHung(cache)
	assert.False(t, hung)
}

// KVM asked for never falls back, and records nothing.
func TestKVMAskedForDoesNotFallBack(t *testing.T) {
	shortKVMDeadline(t, "kvm")
	cache := t.TempDir()
	o := &Options{Cache: cache}
	m := &Machine{Arch: fakeQemu(t, "exec sleep 3"), Accel: Accel{"kvm", "test"}, Timeout: time.Minute}
	run, err := o.boot(context.Background(), m, "test")
	require.NoError(t, err)
	assert.False(t, run.Summary.Booted)
	assert.Equal(t, "kvm", m.Accel.Name)
	_, hung := kvmHung(cache)
	assert.False(t, hung)
}

// shortKVMDeadline sets $STEPBOX_QEMU_ACCEL to force and the KVM boot
// deadline to 300 ms, for one test.
func shortKVMDeadline(t *testing.T, force string) {
	t.Setenv(AccelEnv, force)
	saved := kvmBootDeadline
	kvmBootDeadline = 300 * time.Millisecond
	t.Cleanup(func() { kvmBootDeadline = saved })
}
