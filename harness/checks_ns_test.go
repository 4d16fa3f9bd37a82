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
