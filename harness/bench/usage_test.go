package bench

import (
	"os/exec"
	"testing"
	"time"
)

func TestUsageOfAnExitedProcess(t *testing.T) {
	cmd := exec.Command("/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done")
	if err := cmd.Run(); err != nil {
		t.Fatalf("running sh: %v", err)
	}
	u := usageOf(cmd.ProcessState)
	// Any exec'd program touches some fresh pages; a zero would mean the
	// rusage was not read at all.
	if u.Faults <= 0 {
		t.Errorf("usageOf(sh).Faults = %d, want > 0", u.Faults)
	}
	if u.CPU <= 0 {
		t.Errorf("usageOf(sh).CPU = %v, want > 0 for a 2000-round loop", u.CPU)
	}
	if got := usageOf(nil); got != (Usage{}) {
		t.Errorf("usageOf(nil) = %+v, want zero", got)
	}
}

func TestSummarizeUsageTakesMedians(t *testing.T) {
	us := []Usage{
		{CPU: 3 * time.Millisecond, Faults: 300, CtxSwitches: 1},
		{CPU: 1 * time.Millisecond, Faults: 100, CtxSwitches: 9},
		{CPU: 2 * time.Millisecond, Faults: 200, CtxSwitches: 5},
	}
	want := UsageSummary{CPUMS: 2, Faults: 200, CtxSwitches: 5}
	if got := summarizeUsage(us); got != want {
		t.Errorf("summarizeUsage = %+v, want %+v", got, want)
	}
	if got := summarizeUsage(nil); got != (UsageSummary{}) {
		t.Errorf("summarizeUsage(nil) = %+v, want zero", got)
	}
}
