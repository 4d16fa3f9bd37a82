package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A mount left in the sandbox is named in every description of a run,
// report or not.
func TestDescribeNamesLeakedMounts(t *testing.T) {
	r := &Result{
		Argv: []string{"/x/step", "run", "/probe", "report"}, Exit: 125, Stderr: "boom\n",
		Witness: Witness{
			MountsBefore: []string{"/ ext4 /dev/sda1"},
			MountsAfter:  []string{"/ ext4 /dev/sda1", "/tmp/run-1/rootfs ext4 /dev/sda1"},
		},
	}
	assert.Contains(t, r.Describe(), `exited 125 with stderr "boom"`)
	assert.Contains(t, r.Describe(), "left mounts outside the container: [/tmp/run-1/rootfs ext4 /dev/sda1]")
	r.Witness.MountsAfter = r.Witness.MountsBefore
	assert.NotContains(t, r.Describe(), "left mounts")
}

// With no report, every check says the same thing: the program failed
// before the probe ran; the article's pivot_root on a shared / is named.
func TestFailedBeforeProbe(t *testing.T) {
	article := &Result{Exit: 2, Stderr: "panic: invalid argument\n\ngoroutine 1 [running]:\nmain.pivotRoot(...)\n"}
	assert.Contains(t, FailedBeforeProbe(article), "make / private")
	// The article as written: a bare panic, and its rootfs mount leaked.
	bare := &Result{Exit: 2, Stderr: "panic: invalid argument\n\ngoroutine 1 [running]:\nmain.must(...)\n",
		Witness: Witness{MountsAfter: []string{"/tmp/run-1/rootfs ext4 /dev/vda"}}}
	assert.Contains(t, FailedBeforeProbe(bare), "make / private")
	bare.Witness.MountsAfter = nil
	assert.NotContains(t, FailedBeforeProbe(bare), "make / private")
	assert.NotContains(t, FailedBeforeProbe(&Result{Stderr: "exec: no such file"}), "make / private")
	article.Stderr = "stepbox: cannot pivot_root into \"rootfs\": invalid argument\n"
	assert.Contains(t, FailedBeforeProbe(article), "make / private")
	e := &Env{standard: article}
	_, out := e.report()
	assert.False(t, out.Pass)
	assert.Contains(t, Verdict{Check: Check{ID: "root.is_rootfs", Hint: "bind-mount the rootfs"}, Outcome: out}.Line(),
		"hint: the program failed before the probe ran")
	assert.Contains(t, e.Preflight(), "the program failed before the probe ran: ")
	assert.Contains(t, e.Preflight(), "make / private")
}
