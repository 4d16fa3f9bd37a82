package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stepbox/stepbox/harness/engine"
)

// With no report, every check says the same thing: the program failed
// before the probe ran; the article's pivot_root on a shared / is named.
func TestFailedBeforeProbe(t *testing.T) {
	article := &engine.Result{Exit: 2, Stderr: "panic: invalid argument\n\ngoroutine 1 [running]:\nmain.pivotRoot(...)\n"}
	assert.Contains(t, FailedBeforeProbe(article), "make / private")
	// The article as written: a bare panic, and its rootfs mount leaked.
	bare := &engine.Result{Exit: 2, Stderr: "panic: invalid argument\n\ngoroutine 1 [running]:\nmain.must(...)\n",
		Witness: engine.Witness{After: engine.State{Mounts: []string{"/tmp/run-1/rootfs ext4 /dev/vda"}}}}
	assert.Contains(t, FailedBeforeProbe(bare), "make / private")
	bare.Witness.After.Mounts = nil
	assert.NotContains(t, FailedBeforeProbe(bare), "make / private")
	assert.NotContains(t, FailedBeforeProbe(&engine.Result{Stderr: "exec: no such file"}), "make / private")
	article.Stderr = "stepbox: cannot pivot_root into \"rootfs\": invalid argument\n"
	assert.Contains(t, FailedBeforeProbe(article), "make / private")
	e := &Env{standard: article}
	_, out := e.report()
	assert.False(t, out.Pass)
	assert.Contains(t, Verdict{Check: Check{ID: "root.is_rootfs", Hints: [HintLevels]string{HintSyscall: "bind-mount the rootfs"}}, Outcome: out}.Line(),
		"hint: the program failed before the probe ran")
	assert.Contains(t, e.Preflight(), "the program failed before the probe ran: ")
	assert.Contains(t, e.Preflight(), "make / private")
}
