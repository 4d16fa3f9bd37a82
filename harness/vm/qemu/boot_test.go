package qemu

import (
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
