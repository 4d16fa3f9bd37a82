package exercise

import (
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	return root
}

// exerciseSteps are the steps that must have an exercise: every step the
// catalogue has checks for, from the first exercise on.
func exerciseSteps() []int {
	var steps []int
	for step := First; step <= harness.LastStep(); step++ {
		steps = append(steps, step)
	}
	return steps
}

// Every step has a starter, every anchor still matches the previous step
// exactly once, and the starter is that step's code plus comments only.
func TestStartersApply(t *testing.T) {
	root := moduleRoot(t)
	for step := range Todos {
		assert.GreaterOrEqual(t, step, First, "Todos has step %d, before the first exercise", step)
	}
	for _, step := range exerciseSteps() {
		t.Run(fmt.Sprintf("%02d", step), func(t *testing.T) {
			require.NotEmpty(t, Todos[step], "step %02d has checks but no TODOs in exercise.Todos", step)
			starters, err := Starters(root, step)
			require.NoError(t, err)
			prev, err := engine.StepDir(root, step-1)
			require.NoError(t, err)
			placed := 0
			for _, s := range starters {
				formatted, err := format.Source([]byte(s.Source))
				require.NoError(t, err, s.Name)
				assert.Equal(t, string(formatted), s.Source, "%s of the starter is not gofmt'ed", s.Name)
				orig, err := os.ReadFile(filepath.Join(root, prev, s.Name))
				require.NoError(t, err)
				assert.Equal(t, string(orig), withoutAdded(s.Source, step),
					"the starter's %s must be step %02d's plus comments, nothing else", s.Name, step-1)
				placed += len(s.Todos)
			}
			assert.Equal(t, len(Todos[step]), placed, "TODOs placed")
		})
	}
}

// withoutAdded removes what Starters adds: the header after the package
// clause and the TODO comments with their continuation lines.
func withoutAdded(src string, step int) string {
	tag := fmt.Sprintf("// TODO(%02d): ", step)
	var kept []string
	inTodo, inHeader := false, false
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, tag):
			inTodo = true
			continue
		case inTodo && strings.HasPrefix(trimmed, "//   "):
			continue
		case strings.HasPrefix(line, fmt.Sprintf("// Exercise %02d: ", step)):
			inHeader = true
			kept = kept[:len(kept)-1] // the blank line before it
			continue
		case inHeader && strings.HasPrefix(line, "//"):
			continue
		}
		inTodo, inHeader = false, false
		kept = append(kept, line)
	}
	return strings.Join(kept, "\n")
}

// A TODO says what the step needs, not how: no syscalls, flags of
// clone(2) or mount(2), or Go APIs that would give the answer away.
func TestTodosSayWhatNotHow(t *testing.T) {
	giveaways := []string{"unix.", "syscall.", "CLONE_", "MS_", "MNT_", "Sethostname", "sethostname", "pivot_root", "PivotRoot",
		"Mount(", "mount(", "mknod", "Mknod", "cgroup.procs", "cpu.max", "cfs_quota", "os.Pipe", "ExtraFiles"}
	for step, todos := range Todos {
		for _, todo := range todos {
			for _, word := range giveaways {
				assert.NotContains(t, todo.Text, word, "a TODO of step %02d gives the answer away", step)
			}
		}
	}
}

func TestNoExerciseBeforeTheFirst(t *testing.T) {
	_, err := Starters(moduleRoot(t), 1)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exercises start at step 02")
}

// The learner's copy is written where Dir says, and Create never
// overwrites one that exists.
func TestCreate(t *testing.T) {
	root := moduleRoot(t)
	ws := t.TempDir()
	dir, starters, err := Create(root, ws, 2)
	require.NoError(t, err)
	want, err := Dir(root, ws, 2)
	require.NoError(t, err)
	assert.Equal(t, want, dir)
	assert.Equal(t, "02-uts", filepath.Base(dir))
	for _, s := range starters {
		data, err := os.ReadFile(filepath.Join(dir, s.Name))
		require.NoError(t, err)
		assert.Equal(t, s.Source, string(data))
	}
	_, err = os.Stat(filepath.Join(dir, "step_test.go"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the copy must not hold the previous step's test")

	mine := filepath.Join(dir, "main.go")
	require.NoError(t, os.WriteFile(mine, []byte("my work\n"), 0o644))
	_, _, err = Create(root, ws, 2)
	require.ErrorIs(t, err, ErrExists)
	data, err := os.ReadFile(mine)
	require.NoError(t, err)
	assert.Equal(t, "my work\n", string(data))
}

// Every starter compiles as it is: the learner starts from a program
// that builds and runs. As root, TestExercisesProve builds (and runs)
// every starter instead: building them twice would only load the CPUs
// other packages' tests are measuring.
func TestStartersBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every starter")
	}
	if engine.PrivilegeProblem() == "" {
		t.Skip("TestExercisesProve builds every starter")
	}
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	root := moduleRoot(t)
	for _, step := range exerciseSteps() {
		_, err := BuildStarter(root, step)
		assert.NoError(t, err, "starter of step %02d", step)
	}
}

// TestExercisesProve is the proof that the exercises work: every starter
// fails its step's new checks (but the few listed in StarterPasses, which
// it must then pass, with the reason written down), and the step's
// reference solution passes them all. So the course can never ship an
// exercise that is already solved, or one that cannot be solved.
func TestExercisesProve(t *testing.T) {
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	root := moduleRoot(t)
	for _, step := range exerciseSteps() {
		t.Run(fmt.Sprintf("%02d", step), func(t *testing.T) {
			starter, err := BuildStarter(root, step)
			require.NoError(t, err)
			solution, err := engine.BuildStep(step)
			require.NoError(t, err)
			for id := range StarterPasses[step] {
				c, ok := harness.Lookup(id)
				require.True(t, ok && c.Step == step, "StarterPasses[%d] names %s, not a new check of step %02d", step, id, step)
			}
			failed := 0
			for _, v := range verdicts(t, starter, step) {
				reason, expected := StarterPasses[step][v.ID]
				switch {
				case v.Pass && !expected:
					t.Errorf("the starter of step %02d passes %s already: make the check stronger or the starter weaker (or list it in StarterPasses with the reason)", step, v.ID)
				case !v.Pass && expected:
					t.Errorf("the starter of step %02d fails %s, listed in StarterPasses (%s): remove it there\n%s", step, v.ID, reason, v.Line())
				case !v.Pass:
					failed++
				}
			}
			assert.Positive(t, failed, "the starter of step %02d fails none of its step's checks", step)
			for _, v := range verdicts(t, solution, step) {
				assert.True(t, v.Pass, "the reference solution of step %02d: %s", step, v.Line())
			}
		})
	}
}

// verdicts runs the new checks of step against bin, each under the host
// guard.
func verdicts(t *testing.T, bin string, step int) []harness.Verdict {
	t.Helper()
	env, err := harness.NewEnv(bin, step)
	require.NoError(t, err)
	defer env.Close()
	var vs []harness.Verdict
	for _, c := range harness.Catalogue {
		if c.Step == step {
			vs = append(vs, harness.Guarded(t, env, c))
		}
	}
	return vs
}
