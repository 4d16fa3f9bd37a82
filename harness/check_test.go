package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// A report with no namespaces means /proc could not be read inside: the
// failure says so, instead of blaming a missing clone flag.
func TestNewNamespaceWithoutProc(t *testing.T) {
	outside := map[string]string{"uts": "uts:[4026531838]"}
	for _, tc := range []struct {
		name, inside, cause string
		pass                bool
	}{
		{"no /proc", "", "is /proc mounted?", false},
		{"same namespace", "uts:[4026531838]", "", false},
		{"new namespace", "uts:[4026532999]", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &Env{standard: &engine.Result{
				Report:  &probe.Report{Namespaces: map[string]string{"uts": tc.inside}},
				Witness: engine.Witness{Namespaces: outside},
			}}
			out := newNamespace("uts")(e)
			assert.Equal(t, tc.pass, out.Pass)
			if tc.cause != "" {
				assert.Contains(t, out.Cause, tc.cause)
				c, _ := Lookup("uts.ns_new")
				line := Verdict{Check: c, Outcome: out}.Line()
				assert.NotContains(t, line, "CLONE_NEWUTS", line)
			} else {
				assert.Empty(t, out.Cause)
			}
		})
	}
}

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
