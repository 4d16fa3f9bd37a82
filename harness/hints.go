package harness

import "fmt"

// Hint levels: `make hint` shows a failing check's hints one at a time,
// from a nudge towards the fix to the trap that usually causes it.
const (
	HintNudge   = iota // where to look, in the learner's own code
	HintSyscall        // the system call, flag or file that does it
	HintPitfall        // the usual trap, and what the article gets wrong
	HintLevels         // how many there are
)

// HintLevelNames name the levels, in order.
var HintLevelNames = [HintLevels]string{"nudge", "syscall", "pitfall"}

// HintFor returns a check's hint at level (0-based), or an error for a
// check or level that has none.
func HintFor(id string, level int) (string, error) {
	c, ok := Lookup(id)
	if !ok {
		return "", fmt.Errorf("check %s has no hints", id)
	}
	if level < 0 || level >= HintLevels {
		return "", fmt.Errorf("hint level %d: levels are 0 to %d", level, HintLevels-1)
	}
	return c.Hints[level], nil
}

// FixOrder lists the checks of step in the order to fix them: the step's
// own checks first, then the earlier steps'. On a learner's copy, the
// earlier checks usually fail for the same missing piece (a flag the step
// adds), so the step's own checks name the cause; an earlier check that
// fails alone is a regression, and comes next.
func FixOrder(step int) []Check {
	var own, earlier []Check
	for _, c := range ChecksUpTo(step) {
		if c.Step == step {
			own = append(own, c)
		} else {
			earlier = append(earlier, c)
		}
	}
	return append(own, earlier...)
}
