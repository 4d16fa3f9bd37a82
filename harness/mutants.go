package harness

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// A Mutant is a known-bad program: a reference step with exactly one
// deliberate defect, made by editing its source at build time (go build
// -overlay), so the step folders hold only good code. The harness's tests
// prove that Check rejects it: a check that cannot fail is a defect.
type Mutant struct {
	Check  string // the check that must reject it
	Step   int    // the reference step it is made from
	Defect string // the defect, in a learner's words
	Edits  []Edit // each must match exactly once
}

// Edit replaces Old, which must occur exactly once in the step's File
// (main.go when empty), with New.
type Edit struct{ Old, New, File string }

// dropCall edits out a call of the form `if err := CALL; err != nil {`,
// leaving the function itself in place (and unused).
func dropCall(call string) Edit {
	return Edit{Old: "if err := " + call + "; err != nil {", New: "if err := error(nil); err != nil {"}
}

// MutantName is the binary name of a mutant: mutant-CHECK for the first
// of its check in Mutants, mutant-CHECK-2, -3, ... for the others.
func MutantName(m Mutant) string {
	n := 0
	for _, other := range Mutants {
		if other.Check == m.Check {
			n++
		}
		if other.Check == m.Check && other.Defect == m.Defect {
			break
		}
	}
	if n <= 1 {
		return "mutant-" + m.Check
	}
	return fmt.Sprintf("mutant-%s-%d", m.Check, n)
}

// MutatedSources returns the mutant's edited files (absolute path to new
// source), or an error naming an edit that no longer matches exactly once.
func MutatedSources(root string, m Mutant) (map[string]string, error) {
	dir, err := engine.StepDir(root, m.Step)
	if err != nil {
		return nil, err
	}
	sources := map[string]string{}
	for _, e := range m.Edits {
		path := filepath.Join(root, dir, cmp.Or(e.File, "main.go"))
		src, ok := sources[path]
		if !ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			src = string(data)
		}
		if n := strings.Count(src, e.Old); n != 1 {
			return nil, fmt.Errorf("mutant for %s: %q occurs %d times in %s, want once: update the mutant", m.Check, e.Old, n, path)
		}
		sources[path] = strings.Replace(src, e.Old, e.New, 1)
	}
	return sources, nil
}

// BuildMutant builds the known-bad program.
func BuildMutant(m Mutant) (string, error) {
	if os.Getenv(engine.PrebuiltEnv) != "" {
		return engine.Build(MutantName(m), "", nil)
	}
	root, err := engine.ModuleRoot()
	if err != nil {
		return "", err
	}
	sources, err := MutatedSources(root, m)
	if err != nil {
		return "", err
	}
	out, err := engine.BuildDir()
	if err != nil {
		return "", err
	}
	overlay := map[string]string{}
	for path, src := range sources {
		file := filepath.Join(out, MutantName(m)+"."+filepath.Base(path))
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			return "", err
		}
		overlay[path] = file
	}
	dir, err := engine.StepDir(root, m.Step)
	if err != nil {
		return "", err
	}
	return engine.Build(MutantName(m), "./"+dir, overlay)
}
