package engine

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
			Before: State{Mounts: []string{"/ ext4 /dev/sda1"}},
			After:  State{Mounts: []string{"/ ext4 /dev/sda1", "/tmp/run-1/rootfs ext4 /dev/sda1"}},
		},
	}
	assert.Contains(t, r.Describe(), `exited 125 with stderr "boom"`)
	assert.Contains(t, r.Describe(), "left mounts outside the container: [/tmp/run-1/rootfs ext4 /dev/sda1]")
	r.Witness.After.Mounts = r.Witness.Before.Mounts
	assert.NotContains(t, r.Describe(), "left mounts")
}
