package exercise

import "github.com/stepbox/stepbox/harness"

// A Todo is one TODO comment in a step's starter (harness.Todo).
type Todo = harness.Todo

// Todos are the TODOs of each step's starter, by step. Each step's file
// in package harness holds its own (Step.Todos, beside its checks). Keep
// anchors few and short: the steps' code changes, and TestStartersApply
// says when an anchor stops matching.
var Todos = todosByStep()

func todosByStep() map[int][]Todo {
	todos := map[int][]Todo{}
	for _, s := range harness.Steps {
		if len(s.Todos) > 0 {
			todos[s.N] = s.Todos
		}
	}
	return todos
}

// StarterPasses are the checks of a step that its starter passes anyway,
// by step and check ID, each with the reason. The exercise proof fails if
// a starter passes a new check not listed here, or fails one that is: a
// starter that already solves its step teaches nothing.
var StarterPasses = map[int]map[string]string{
	3: {"mnt.no_leak": "step 02 mounts nothing, so nothing can leak yet; the check bites as soon as the learner mounts /proc without first making / private"},
	5: {
		"cli.signals": "step 04 never touches signals, so nothing is ignored yet; the check bites when the learner keeps the runtime alive on Ctrl-C with signal.Ignore instead of signal.Notify",
		"cli.fds":     "step 04 hands the child nothing but stdio; the check bites when the learner adds the sync socket and forgets to close it in the child",
	},
	10: {"sec.ordinary": "step 09 runs ordinary programs already; the check bites when the learner's filter or capability drop breaks them, or the filter goes in before the runtime's own mounts"},
}
