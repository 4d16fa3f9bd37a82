package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// The cgroup checks judge where the container is, not what its cgroup is
// called: a correct step 05 whose cgroups have another name passes them,
// and the same program leaking such a cgroup on a refused --cpus fails
// cgroup.bad_cpus (which once looked for stepbox-* names only).
func TestCgroupChecksJudgeThePlaceNotTheName(t *testing.T) {
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	for _, tc := range []struct {
		variant Mutant
		failing string // the check that must fail, "" for none
	}{
		{Variants[0], ""},
		{Variants[1], "cgroup.bad_cpus"},
	} {
		t.Run(tc.variant.Check, func(t *testing.T) {
			bin, err := BuildMutant(tc.variant)
			require.NoError(t, err)
			env, err := NewEnv(bin, 5)
			require.NoError(t, err)
			defer env.Close()
			for _, id := range []string{"cgroup.quota_written", "cgroup.removed", "cgroup.separate", "cgroup.bad_cpus"} {
				c, ok := Lookup(id)
				require.True(t, ok, id)
				v := Guarded(t, env, c)
				if id == tc.failing {
					assert.False(t, v.Pass, "%s passed %s, which %s", id, tc.variant.Check, tc.variant.Defect)
					assert.Contains(t, v.Got, "mycontainer", v.Line())
				} else {
					assert.True(t, v.Pass, v.Line())
				}
			}
		})
	}
}
