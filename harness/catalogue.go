package harness

import "fmt"

// A Step is one step of the course as the harness knows it, all in its
// own file (stepNN_name.go): its checks, one record each, and the TODOs
// of its exercise.
type Step struct {
	N      int
	Todos  []Todo // the TODOs of its starter (harness/exercise), none for step 01
	Checks []Check
}

// A Todo is one TODO comment in a step's starter. It goes on lines of its
// own above (or, with After, below) the line of the previous step's
// source that holds Anchor, which must occur there exactly once. Text says
// what the step needs, never how: the checks and `make hint` do the rest.
type Todo struct {
	File   string // the file of the previous step; main.go when empty
	Anchor string
	After  bool
	Text   string
}

// Steps are the course's steps, in order: a new step is a file with its
// Step, and a line here.
var Steps = []Step{
	step01, // re-exec through /proc/self/exe
	step02, // UTS namespace
	step03, // PID, mount and IPC namespaces
	step04, // pivot_root into the rootfs
	step05, // cgroup CPU quota
	step06, // user namespace
	step07, // network namespace, veth pair and bridge
	step08, // overlay: a read-only image under a writable layer
	step09, // lifecycle: ids, state, run -d, ps, logs, exec, stop, kill, rm, init
	step10, // security: capabilities, no_new_privs, seccomp, masked paths, devices
	step11, // the OCI runtime command line
}

// Catalogue is every check, in course order: the Steps' checks one after
// another. A step's test runs the checks of that step and of every
// earlier one.
var Catalogue = concat(Steps, func(s Step) []Check { return s.Checks })

// Mutants lists the known-bad programs of every check, in catalogue order.
var Mutants = concat(Catalogue, func(c Check) []Mutant { return c.Mutants })

func concat[T, E any](items []T, of func(T) []E) []E {
	var all []E
	for _, it := range items {
		all = append(all, of(it)...)
	}
	return all
}

// Lookup finds a check by ID.
func Lookup(id string) (Check, bool) {
	for _, c := range Catalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// ChecksUpTo lists the checks of step and every earlier step.
func ChecksUpTo(step int) []Check {
	var list []Check
	for _, c := range Catalogue {
		if c.Step <= step {
			list = append(list, c)
		}
	}
	return list
}

// LastStep is the highest step the catalogue has checks for.
func LastStep() int { return Catalogue[len(Catalogue)-1].Step }

// ValidStep reports an error for a step number the catalogue does not know.
func ValidStep(step int) error {
	if step < 1 || step > LastStep() {
		return fmt.Errorf("step %d does not exist: steps are 1 to %d", step, LastStep())
	}
	return nil
}
