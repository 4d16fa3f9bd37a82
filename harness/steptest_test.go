package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// "own" runs each check on the step that brings it; a step with no
// checks of its own runs the latest earlier lesson's.
func TestStepChecks(t *testing.T) {
	ids := func(cs []Check) (out []string) {
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	all, err := StepChecks(3, "")
	require.NoError(t, err)
	assert.Equal(t, ids(ChecksUpTo(3)), ids(all))
	own, err := StepChecks(3, "own")
	require.NoError(t, err)
	require.NotEmpty(t, own)
	assert.Less(t, len(own), len(all))
	for _, c := range own {
		assert.Equal(t, 3, c.Step, c.ID)
	}
	last := LastStep()
	after, err := StepChecks(last+1, "own")
	require.NoError(t, err)
	lastOwn, _ := StepChecks(last, "own")
	assert.Equal(t, ids(lastOwn), ids(after), "a step with no checks of its own runs the latest lesson's")
	_, err = StepChecks(3, "mine")
	assert.ErrorContains(t, err, "want all")
}
