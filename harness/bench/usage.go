package bench

import (
	"os"
	"syscall"
	"time"
)

// Usage is what the kernel accounted to one run: the measured process
// and every descendant it waited for (for a step, the re-executed child
// and the container's command; for unshare --fork, its child). Page
// faults and voluntary context switches are the program's own doing
// (first touches of memory; a thread that sleeps or waits), so unlike
// the latency they barely move when other work shares the machine, and
// show where a row's time goes even on a noisy run: each is kernel work,
// and on a virtual machine a costly one. CPU time does grow with load.
type Usage struct {
	CPU         time.Duration // user + system CPU time
	Faults      int64         // minor page faults (first touches of memory)
	CtxSwitches int64         // voluntary context switches (involuntary ones measure the load)
}

// usageOf reads the rusage that wait4 returned for an exited process;
// a zero Usage if there is none.
func usageOf(state *os.ProcessState) Usage {
	if state == nil {
		return Usage{}
	}
	ru, ok := state.SysUsage().(*syscall.Rusage)
	if !ok || ru == nil {
		return Usage{}
	}
	return Usage{
		CPU:         time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Faults:      ru.Minflt,
		CtxSwitches: ru.Nvcsw,
	}
}

// UsageSummary is the median of each count over a row's kept runs.
type UsageSummary struct {
	CPUMS       float64 `json:"cpu_ms_median"`
	Faults      int64   `json:"page_faults_median"`
	CtxSwitches int64   `json:"ctx_switches_median"`
}

// summarizeUsage takes the medians of the runs' counts.
func summarizeUsage(us []Usage) UsageSummary {
	if len(us) == 0 {
		return UsageSummary{}
	}
	cpu := make([]time.Duration, len(us))
	faults := make([]int64, len(us))
	switches := make([]int64, len(us))
	for i, u := range us {
		cpu[i], faults[i], switches[i] = u.CPU, u.Faults, u.CtxSwitches
	}
	return UsageSummary{
		CPUMS:       Summarize(cpu).Median,
		Faults:      medianInt64(faults),
		CtxSwitches: medianInt64(switches),
	}
}
