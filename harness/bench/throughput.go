package bench

import (
	"sync"
	"sync/atomic"
	"time"
)

// Throughput is containers per second at one concurrency.
type Throughput struct {
	Row         string  `json:"row"`
	Concurrency int     `json:"concurrency"`
	Runs        int     `json:"runs"`
	Failures    int     `json:"failures"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"containers_per_second"`
	FirstError  string  `json:"first_error,omitempty"`
}

// measureThroughput starts total containers with n workers, each
// starting the next container as soon as its previous one exited, and
// divides successful runs by the wall time.
func measureThroughput(r *Row, n, total int, timeout time.Duration) Throughput {
	var next, failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(total) {
				id := newRunID(pid)
				argv := r.args(id)
				if r.workerArgs != nil {
					argv = r.workerArgs(w, id)
				}
				s := runOnce(argv, timeout, r.start)
				if s.Err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, s.Err.Error())
					if r.cleanup != nil {
						r.cleanup(id)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began).Seconds()
	t := Throughput{Row: r.Name, Concurrency: n, Runs: total, Failures: int(failures.Load()), Seconds: elapsed}
	t.PerSecond = float64(total-t.Failures) / elapsed
	if e, ok := firstErr.Load().(string); ok {
		t.FirstError = e
	}
	return t
}
