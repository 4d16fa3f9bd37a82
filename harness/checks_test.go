package harness

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

func TestCatalogueIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	last := 0
	for _, c := range Catalogue {
		assert.False(t, seen[c.ID], "check %s listed twice", c.ID)
		seen[c.ID] = true
		assert.GreaterOrEqual(t, c.Step, last, "check %s is out of step order", c.ID)
		last = c.Step
		assert.NotEmpty(t, c.Proves, c.ID)
		assert.NotEmpty(t, c.Hint(), c.ID)
		for _, m := range c.Mutants {
			assert.Equal(t, c.ID, m.Check, "a mutant in the record of %s names another check", c.ID)
		}
		assert.NotNil(t, c.Run, c.ID)
	}
	for i, s := range Steps {
		assert.Equal(t, i+1, s.N, "Steps lists step %02d in place %d", s.N, i+1)
		for _, c := range s.Checks {
			assert.Equal(t, s.N, c.Step, "check %s is in the file of step %02d", c.ID, s.N)
		}
	}
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	for step := 1; step <= LastStep(); step++ {
		_, err := engine.StepDir(root, step)
		assert.NoError(t, err, "step %d has checks but no folder", step)
	}
}

// Every check has a known-bad program, and every edit still applies to
// the reference source: this runs without root, so drift shows anywhere.
func TestEveryCheckHasAMutant(t *testing.T) {
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	covered := map[string]bool{}
	for _, m := range Mutants {
		c, ok := Lookup(m.Check)
		require.True(t, ok, "mutant names unknown check %q", m.Check)
		assert.GreaterOrEqual(t, m.Step, c.Step, "mutant for %s is made from a step before the check exists", m.Check)
		_, err := MutatedSources(root, m)
		assert.NoError(t, err)
		covered[m.Check] = true
	}
	for _, c := range Catalogue {
		assert.True(t, covered[c.ID], "check %s has no known-bad program in Mutants", c.ID)
	}
}

// TestChecksRejectMutants is the tester's own test: each check fails, with
// its ID and hint, on the program made to break it.
func TestChecksRejectMutants(t *testing.T) {
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	for _, m := range Mutants {
		t.Run(m.Check, func(t *testing.T) {
			bin, err := BuildMutant(m)
			require.NoError(t, err)
			env, err := NewEnv(bin, m.Step)
			require.NoError(t, err)
			defer env.Close()
			c, _ := Lookup(m.Check)
			v := Guarded(t, env, c)
			require.False(t, v.Pass, "%s passed a program that %s", m.Check, m.Defect)
			line := v.Line()
			assert.True(t, strings.HasPrefix(line, fmt.Sprintf("FAIL %s: expected ", m.Check)), line)
			assert.Contains(t, line, "— hint: "+v.HintText())
			t.Logf("%s (%s)", line, m.Defect)
		})
	}
}

// Every known-bad program has a binary name of its own: the VM backends
// build them all into one directory.
func TestMutantNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, m := range Mutants {
		name := MutantName(m)
		if prev, ok := seen[name]; ok {
			t.Errorf("%s names both %q and %q", name, prev, m.Defect)
		}
		seen[name] = m.Defect
	}
}
