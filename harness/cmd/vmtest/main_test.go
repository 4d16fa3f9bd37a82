package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stepbox/stepbox/harness/vm/guest"
	"github.com/stepbox/stepbox/harness/vm/qemu"
)

// The exit status is what CI and vm-test-qemu-broken rely on: a guest
// that never reported is never a pass, and is told apart from a failure.
func TestReportExitStatus(t *testing.T) {
	run := func(lines ...string) *qemu.Run {
		r := &qemu.Run{}
		for _, l := range lines {
			r.Summary.Feed(l)
		}
		return r
	}
	booted := guest.BootedLine(5, 1)
	assert.Equal(t, exitPass, report(run(booted, guest.EndLine("harness", true, 0, 1), guest.ResultLine(1, 0)), 0))
	assert.Equal(t, exitTestFailed, report(run(booted, guest.EndLine("harness", false, 1, 1), guest.ResultLine(0, 1)), 0))
	assert.Equal(t, exitNoResult, report(run(booted), 0), "booted but never reported")
	assert.Equal(t, exitNoResult, report(run(), 0), "never booted")
	timedOut := run(booted)
	timedOut.TimedOut = true
	assert.Equal(t, exitNoResult, report(timedOut, 0))
	assert.Equal(t, exitTestFailed, report(run(booted, guest.ErrorLine(assert.AnError), guest.ResultLine(0, 1)), 0), "an init error is a failure")
}
