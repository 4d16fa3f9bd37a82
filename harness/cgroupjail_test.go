package harness

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renamedCgroup is step 05 with its cgroups named as the seed article
// names its one: the contract asks for no name.
var renamedCgroup = Edit{
	Old:  `name := fmt.Sprintf("stepbox-%d-%08x", os.Getpid(), rand.Uint32())`,
	New:  `name := fmt.Sprintf("mycontainer%08x", rand.Uint32())`,
	File: "cgroup.go",
}

// The cgroup checks judge where the container is, not what its cgroup is
// called: a correct step 05 whose cgroups have another name passes them,
// and the same program leaking such a cgroup on a refused --cpus fails
// cgroup.bad_cpus (which once looked for stepbox-* names only).
func TestCgroupChecksJudgeThePlaceNotTheName(t *testing.T) {
	RequirePrivileged(t)
	t.Cleanup(func() { _ = RemoveBuilds() })
	for _, tc := range []struct {
		variant string
		edits   []Edit
		failing string // the check that must fail, "" for none
	}{
		{"renamed", []Edit{renamedCgroup}, ""},
		{"renamed-leaky", []Edit{renamedCgroup, {
			Old: `return 0, fmt.Errorf("--cpus %q is not a number of CPUs like 0.5", value)`,
			New: "_, _ = newCgroup() // made before the value is known to be good, and never removed\n\t\t" +
				`return 0, fmt.Errorf("--cpus %q is not a number of CPUs like 0.5", value)`,
		}}, "cgroup.bad_cpus"},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			bin, err := BuildMutant(Mutant{Check: "variant." + tc.variant, Step: 5, Defect: tc.variant, Edits: tc.edits})
			require.NoError(t, err)
			env, err := NewEnv(bin, 5)
			require.NoError(t, err)
			defer env.Close()
			for _, id := range []string{"cgroup.quota_written", "cgroup.removed", "cgroup.separate", "cgroup.bad_cpus"} {
				c, ok := Lookup(id)
				require.True(t, ok, id)
				v := Guarded(t, env, c)
				if id == tc.failing {
					assert.False(t, v.Pass, "%s passed the %s variant", id, tc.variant)
					assert.Contains(t, v.Got, "mycontainer", v.Line())
				} else {
					assert.True(t, v.Pass, v.Line())
				}
			}
		})
	}
}
