package guest

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSummaryReadsWhatTheInitPrints(t *testing.T) {
	var s Summary
	for _, line := range []string{
		"[    0.000000] Linux version 6.1.0\r",
		BootedLine(4.25, 1) + "\r",
		BeginLine("steps/03-pid-mnt"),
		"=== RUN   TestStep",
		"    some output mentioning " + MarkResult + " mid-line",
		EndLine("steps/03-pid-mnt", false, 1, 12.5),
		EndLine("harness", true, 0, 3),
		ResultLine(1, 1) + "\r\n",
	} {
		s.Feed(line)
	}
	assert.True(t, s.Booted)
	assert.InDelta(t, 4.2, s.Uptime, 0.1)
	assert.Equal(t, []Outcome{{"steps/03-pid-mnt", false, 1, 12.5}, {"harness", true, 0, 3}}, s.Outcomes)
	assert.True(t, s.Result)
	assert.Equal(t, 1, s.Pass)
	assert.Equal(t, 1, s.Fail)
	assert.False(t, s.OK())
}

func TestSummaryNeedsAResult(t *testing.T) {
	var s Summary
	s.Feed(BootedLine(3, 1))
	assert.False(t, s.OK(), "a guest that never reported must not pass")
	s.Feed(ResultLine(0, 0))
	assert.False(t, s.OK(), "a guest that ran nothing must not pass")
	s.Feed(ErrorLine(errors.New("loading veth:\n  no such file")))
	s.Feed(ResultLine(3, 0))
	assert.Equal(t, []string{"loading veth: no such file"}, s.Errors)
	assert.False(t, s.OK(), "an init error must not pass")
}

// A -test.run pattern that matches nothing makes a test binary pass
// having run nothing: that must not count as a pass.
func TestSummaryRefusesABinaryThatRanNothing(t *testing.T) {
	var s Summary
	for _, line := range []string{
		BootedLine(3, 1),
		BeginLine("harness"),
		"testing: warning: no tests to run",
		"PASS",
		EndLine("harness", true, 0, 0.1),
		ResultLine(2, 0),
	} {
		s.Feed(line)
	}
	assert.Equal(t, []string{"harness: no test matched its -test.run pattern"}, s.Errors)
	assert.False(t, s.OK())
	var outside Summary
	outside.Feed("testing: warning: no tests to run")
	assert.Empty(t, outside.Errors, "only inside a test binary's section")
}
