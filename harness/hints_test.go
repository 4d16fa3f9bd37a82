package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every check has its three hints, none empty, each saying something
// new. That a check has hints at all, three of them, and that no hints
// are left for a check that is gone, the compiler proves: they are the
// check's own field, a [HintLevels]string written as [...]string{...}.
func TestEveryCheckHasHints(t *testing.T) {
	for _, c := range Catalogue {
		for level, h := range c.Hints {
			assert.NotEmpty(t, h, "%s has no %s hint", c.ID, HintLevelNames[level])
		}
		assert.NotEqual(t, c.Hints[HintNudge], c.Hints[HintSyscall], c.ID)
		assert.NotEqual(t, c.Hints[HintSyscall], c.Hints[HintPitfall], c.ID)
	}
}

func TestHintFor(t *testing.T) {
	h, err := HintFor("pid.one", HintPitfall)
	require.NoError(t, err)
	pidOne, _ := Lookup("pid.one")
	assert.Equal(t, pidOne.Hints[2], h)
	_, err = HintFor("pid.one", HintLevels)
	assert.Error(t, err)
	_, err = HintFor("no.such", 0)
	assert.Error(t, err)
}

func TestFixOrder(t *testing.T) {
	for step := 1; step <= LastStep(); step++ {
		order := FixOrder(step)
		require.ElementsMatch(t, ids(ChecksUpTo(step)), ids(order), "step %d", step)
		seenEarlier := false
		for _, c := range order {
			if c.Step < step {
				seenEarlier = true
			}
			assert.False(t, seenEarlier && c.Step == step, "step %d: %s comes after an earlier step's check", step, c.ID)
		}
	}
}

func ids(cs []Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
