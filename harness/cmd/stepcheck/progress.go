package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// column is one step of the progress table: the learner's copy of it,
// checked now.
type column struct {
	step    int
	copy    bool                       // the learner has a copy of this step
	problem string                     // why it could not be checked, e.g. it does not build
	results map[string]harness.Verdict // by check ID
}

// progress builds and checks every copy in the workspace, now: the table
// comes from real runs, never from a record that could drift.
func progress(w io.Writer, workspace string) error {
	root, err := engine.ModuleRoot()
	if err != nil {
		return err
	}
	var cols []column
	for step := 1; step <= harness.LastStep(); step++ {
		col := column{step: step}
		bin, dir, err := buildCopy(root, workspace, step)
		switch {
		case err != nil && dir == "":
			return err
		case err != nil:
			col.copy, col.problem = true, buildProblem(err)
		case bin != "":
			col.copy = true
			verdicts, _, err := runChecks(bin, step, harness.ChecksUpTo(step), false)
			if err != nil {
				col.problem = firstLine(err.Error())
				break
			}
			col.results = map[string]harness.Verdict{}
			for _, v := range verdicts {
				if prev, seen := col.results[v.ID]; !seen || prev.Pass {
					col.results[v.ID] = v
				}
			}
		}
		cols = append(cols, col)
	}
	fmt.Fprintf(w, "Your copies in %s, checked now:\n\n", shortPath(root, workspace))
	printTable(w, cols)
	return nil
}

// Cell marks in the progress table.
const (
	markPass    = "ok"
	markFail    = "FAIL"
	markNoCopy  = "."
	markNoCheck = ""
)

// printTable prints checks down and steps across. A step's column has a
// cell for its checks and every earlier step's; the last row says
// whether the step passes as a whole.
func printTable(w io.Writer, cols []column) {
	width := len("step passes")
	for _, c := range harness.Catalogue {
		width = max(width, len(c.ID))
	}
	fmt.Fprintf(w, "%-*s", width, "check")
	for _, col := range cols {
		fmt.Fprintf(w, "  %4s", fmt.Sprintf("%02d", col.step))
	}
	fmt.Fprintln(w)
	hostChanged := false
	for _, c := range harness.Catalogue {
		fmt.Fprintf(w, "%-*s", width, c.ID)
		for _, col := range cols {
			fmt.Fprintf(w, "  %4s", cell(col, c))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "%-*s", width, "step passes")
	for _, col := range cols {
		verdict := markNoCopy
		switch {
		case col.problem != "":
			verdict = "no"
		case col.copy:
			verdict = "yes"
			for _, v := range col.results {
				if !v.Pass {
					verdict = "no"
				}
				hostChanged = hostChanged || (v.ID == hostUnchanged && !v.Pass)
			}
		}
		fmt.Fprintf(w, "  %4s", verdict)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "\n%s pass, %s fail, %s no copy yet (`make exercise STEP=NN`).\n", markPass, markFail, markNoCopy)
	for _, col := range cols {
		if col.problem != "" {
			fmt.Fprintf(w, "%02d: not checked: %s\n", col.step, col.problem)
		}
	}
	if hostChanged {
		fmt.Fprintf(w, "A copy changed the host during a check (%s): `make check STEP=NN` shows which.\n", hostUnchanged)
	}
}

// cell is one check's mark in one step's column.
func cell(col column, c harness.Check) string {
	switch {
	case c.Step > col.step:
		return markNoCheck
	case !col.copy:
		return markNoCopy
	case col.problem != "":
		return "-"
	}
	v, ok := col.results[c.ID]
	switch {
	case !ok:
		return "?"
	case v.Pass:
		return markPass
	}
	return markFail
}

// buildProblem is the first compiler error of a copy that does not
// build, or the error's first line.
func buildProblem(err error) string {
	for _, line := range strings.Split(err.Error(), "\n") {
		if strings.Contains(line, ".go:") {
			return "does not build: " + strings.TrimSpace(line)
		}
	}
	return firstLine(err.Error())
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
