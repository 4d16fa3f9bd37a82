package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

// rowRuns collects one row's measurements.
type rowRuns struct {
	row      *Row
	samples  []time.Duration
	usage    []Usage
	failures int
	firstErr error
}

// measureLatency runs every row once per iteration, in a fresh random
// order each time, so slow drifts of the machine (another build, a
// cron job) spread over all rows instead of landing on one. The first
// warmup iterations are run the same way and thrown away (page cache,
// first-use costs). A row that fails every warmup run is dropped with
// its error, so one broken step does not slow the whole bench.
func measureLatency(rows []*Row, iterations, warmup int, seed uint64, timeout time.Duration, progress io.Writer) []*rowRuns {
	runs := make([]*rowRuns, len(rows))
	for i, r := range rows {
		runs[i] = &rowRuns{row: r}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	for it := -warmup; it < iterations; it++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			rr := runs[i]
			if rr.row.skipped() {
				continue
			}
			rr.runOne(it >= 0, timeout)
		}
		if it == -1 || (warmup == 0 && it == 0) {
			dropBrokenRows(runs, max(warmup, 1))
		}
		if progress != nil && it >= 0 && (it+1)%25 == 0 {
			fmt.Fprintf(progress, "bench: latency %d/%d iterations\n", it+1, iterations)
		}
	}
	return runs
}

// runOne runs the row once; keep is false during warmup.
func (rr *rowRuns) runOne(keep bool, timeout time.Duration) {
	id := newRunID(pid)
	s := runOnce(rr.row.args(id), timeout, rr.row.start)
	if s.Err != nil {
		rr.failures++
		if rr.firstErr == nil {
			rr.firstErr = s.Err
		}
		if rr.row.cleanup != nil {
			rr.row.cleanup(id)
		}
		return
	}
	if keep {
		rr.samples = append(rr.samples, s.Elapsed)
		rr.usage = append(rr.usage, s.Usage)
	}
}

// dropBrokenRows skips rows whose every warmup run failed.
func dropBrokenRows(runs []*rowRuns, attempts int) {
	for _, rr := range runs {
		if !rr.row.skipped() && rr.failures >= attempts {
			rr.row.Note = fmt.Sprintf("dropped: every warmup run failed: %v", rr.firstErr)
			rr.row.args = nil
		}
	}
}
