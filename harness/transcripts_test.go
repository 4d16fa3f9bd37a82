package harness

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// transcriptMutants are, by step, the known-bad programs whose whole
// transcript is kept: one defect in the step's own lesson, chosen so that
// what the learner reads depends neither on the kernel nor on the run
// (no PIDs, CPU times or process counts in it).
var transcriptMutants = map[int]string{
	1: "cli.exit_status", 2: "uts.hostname", 3: "ipc.ns_new", 4: "dev.null",
	5: "cli.fds", 6: "userns.rootless", 7: "net.interfaces",
	8: "overlay.layer_removed", 9: "life.bad_input", 10: "sec.seccomp",
	11: "oci.pid_file",
}

// TestMutantTranscripts keeps what a learner sees when a step has one
// defect: stepcheck's whole transcript for one known-bad program of each
// step's own checks, against golden stepNN-CHECK.txt.
func TestMutantTranscripts(t *testing.T) {
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	for step := 1; step <= LastStep(); step++ {
		m, ok := mutantOf(step, transcriptMutants[step])
		require.True(t, ok, "step %02d has no known-bad program for %q of its own checks", step, transcriptMutants[step])
		t.Run(fmt.Sprintf("step%02d", step), func(t *testing.T) {
			bin, err := BuildMutant(m)
			require.NoError(t, err)
			ts, err := CheckAll(bin, step, ChecksUpTo(step), false)
			require.NoError(t, err)
			require.True(t, ts.Failed(), "no check failed on a program that %s", m.Defect)
			ts.Label = "a known-bad step " + fmt.Sprintf("%02d", step) + " that " + m.Defect
			ts.HintCmd = fmt.Sprintf("make hint STEP=%02d", step)
			CompareGolden(t, fmt.Sprintf("step%02d-%s.txt", step, m.Check), ts.String())
		})
	}
}

// mutantOf is the first known-bad program, in Mutants order, of check id,
// made from step, which must bring that check.
func mutantOf(step int, id string) (Mutant, bool) {
	for _, m := range Mutants {
		if c, ok := Lookup(m.Check); ok && m.Check == id && c.Step == step && m.Step == step {
			return m, true
		}
	}
	return Mutant{}, false
}
