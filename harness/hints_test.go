package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every check has its three hints, and no hint is left for a check that
// is gone.
func TestEveryCheckHasHints(t *testing.T) {
	for _, c := range Catalogue {
		hints, ok := Hints[c.ID]
		if !assert.True(t, ok, "check %s has no hints in Hints (harness/hints.go): give it a nudge, the syscall and the pitfall", c.ID) {
			continue
		}
		for level, h := range hints {
			assert.NotEmpty(t, h, "%s has no %s hint", c.ID, HintLevelNames[level])
		}
		assert.NotEqual(t, hints[HintNudge], hints[HintSyscall], c.ID)
		assert.NotEqual(t, hints[HintSyscall], hints[HintPitfall], c.ID)
	}
	for id := range Hints {
		_, ok := Lookup(id)
		assert.True(t, ok, "Hints has %s, which is not in the catalogue", id)
	}
}

func TestHintFor(t *testing.T) {
	h, err := HintFor("pid.one", HintPitfall)
	require.NoError(t, err)
	assert.Equal(t, Hints["pid.one"][2], h)
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
