// Command exercise makes the learner's own copy of a step to work on:
//
//	exercise --step 04 [--workspace DIR]
//
// writes workspace/04-pivotroot: step 03's solution with TODO(04)
// comments where step 04's lesson goes, and lists them. It never
// overwrites a copy that exists. Exit status: 0 when the copy was made, 1
// when it could not be, 2 for a usage error.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/exercise"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usageLine = "usage: exercise --step N [--workspace DIR]"

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("exercise", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	stepFlag := fs.String("step", "", "the step to practise, e.g. 04")
	workspace := fs.String("workspace", "", "where your copies go (default: workspace/ in the stepbox checkout)")
	if err := fs.Parse(args); err != nil {
		return usage(stderr, err)
	}
	if fs.NArg() > 0 {
		return usage(stderr, fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	step, err := strconv.Atoi(*stepFlag)
	if err != nil {
		return usage(stderr, fmt.Errorf("--step %q is not a step number like 04", *stepFlag))
	}
	root, err := engine.ModuleRoot()
	if err != nil {
		fmt.Fprintf(stderr, "exercise: %v\n", err)
		return 1
	}
	if _, err := engine.StepDir(root, step); err != nil {
		return usage(stderr, fmt.Errorf("step %02d does not exist (%v)", step, err))
	}
	if step < exercise.First {
		return usage(stderr, fmt.Errorf("step %02d has no exercise: it is where the course starts (read its README and main.go); exercises start at step %02d", step, exercise.First))
	}
	if *workspace == "" {
		*workspace = filepath.Join(root, exercise.Workspace)
	}
	dir, starters, err := exercise.Create(root, *workspace, step)
	if err != nil {
		fmt.Fprintf(stderr, "exercise: %v\n", err)
		return 1
	}
	report(stdout, root, dir, step, starters)
	return 0
}

// report tells the learner what was made and what to do next.
func report(w io.Writer, root, dir string, step int, starters []exercise.Starter) {
	rel := dir
	if r, err := filepath.Rel(root, dir); err == nil && filepath.IsLocal(r) {
		rel = r
	}
	ref, _ := engine.StepDir(root, step)
	fmt.Fprintf(w, "%s: your copy of step %02d, starting from step %02d's solution.\n", rel, step, step-1)
	fmt.Fprintf(w, "Its TODO(%02d) comments say what step %02d needs (how is up to you; %s/README.md explains):\n", step, step, ref)
	for _, s := range starters {
		for _, t := range s.Todos {
			fmt.Fprintf(w, "  %s:%d  %s\n", filepath.Join(rel, s.Name), t.Line, t.Text)
		}
	}
	fmt.Fprintf(w, "Then, from %s:\n", root)
	fmt.Fprintf(w, "  make check STEP=%02d      check your copy (it fails until the TODOs are done)\n", step)
	fmt.Fprintf(w, "  make hint STEP=%02d       a hint for the first failing check; again for the next one\n", step)
	fmt.Fprintf(w, "  make solution STEP=%02d   the reference solution, as a diff against your copy\n", step)
}

func usage(w io.Writer, err error) int {
	fmt.Fprintf(w, "exercise: %v (%s)\n", err, usageLine)
	return 2
}
