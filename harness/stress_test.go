//go:build stress

package harness

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// TestStressStep05 runs 200 containers of reference step 05, 8 at a time.
// Every one must exit with its own status and print its own line, and
// afterwards no cgroup, mount, process or rootfs change may be left.
// It takes minutes, so it runs only under `make stress` (-tags stress).
func TestStressStep05(t *testing.T) {
	const runs, workers = 200, 8
	env := step05Env(t)
	tag := "stress-" + marker()
	underGuard(t, env, func() {
		jobs := make(chan int)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []string
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					want := i % 7
					res, err := env.Run(engine.Invocation{
						Cmd: []string{"/bin/sh", "-c", fmt.Sprintf("echo run-%d; exit %d", i, want), tag},
					})
					switch {
					case err != nil:
						err = fmt.Errorf("run %d: %w", i, err)
					case res.Exit != want || res.Stdout != fmt.Sprintf("run-%d\n", i) || res.Stderr != "":
						err = fmt.Errorf("run %d: want exit %d and run-%d, got %s, stdout %q", i, want, i, res.Describe(), res.Stdout)
					}
					if err != nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
					}
				}
			}()
		}
		for i := range runs {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		assert.Empty(t, failures, "%d of %d runs failed", len(failures), runs)
		requireGone(t, tag)
		requireNoCgroups(t, env, "after the load")
	})
	require.False(t, t.Failed())
}
