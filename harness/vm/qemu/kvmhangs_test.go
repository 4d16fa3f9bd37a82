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

// A guest that does not come up under KVM is booted again under software
// emulation, and the finding is recorded for this boot of the host only.
func TestKVMThatHangsFallsBackAndIsRemembered(t *testing.T) {
	t.Setenv(AccelEnv, "")
	saved := kvmBootDeadline
	kvmBootDeadline = 300 * time.Millisecond
	t.Cleanup(func() { kvmBootDeadline = saved })
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
	t.Setenv(AccelEnv, "kvm")
	saved := kvmBootDeadline
	kvmBootDeadline = 300 * time.Millisecond
	t.Cleanup(func() { kvmBootDeadline = saved })
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
