package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// A program is one of the article's programs, with the step it claims and
// its variants: as written first, then the smallest changes that let it
// compile and get past its first failure.
type program struct {
	title    string
	step     int
	variants []variant
}

// A variant is a folder under harness/testdata/article.
type variant struct {
	dir   string
	title string // the column's title
	note  string // why it never runs the probe, when its output cannot say
}

var programs = []program{
	{"The article's pivot_root program (step 04)", 4, []variant{
		{"pivot", "as written", ""},
		{"pivot-private", "+ `/` made private", ""},
		{"pivot-private-flags", "+ `/` private, the contract's flags skipped", ""},
	}},
	{"The article's cgroup program (step 05)", 5, []variant{
		{"cgroup", "as written", ""},
		{"cgroup-compiles", "without the `Cgroup:` line",
			"it runs `/bin/bash`, whatever the command (see its code), so the probe never runs"},
	}},
}

// column is what happened to one variant.
type column struct {
	variant
	buildErr  string            // why it does not compile, or ""
	preflight string            // why no check could look, or ""
	stopped   string            // what stopped it before the probe, for the table
	verdicts  []harness.Verdict // in the order of harness.ChecksUpTo
	byID      map[string]harness.Verdict
}

// runProgram builds every variant of p and runs the checks of p.step
// against those that compile, each under the host guard.
func runProgram(root string, p program, log io.Writer) ([]column, error) {
	tmp, err := os.MkdirTemp("", "stepbox-article-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	var cols []column
	for _, v := range p.variants {
		col := column{variant: v, byID: map[string]harness.Verdict{}}
		bin := filepath.Join(tmp, v.dir)
		if col.buildErr = build(root, v.dir, bin); col.buildErr == "" {
			fmt.Fprintf(log, "article: checking %s (%s) against step %02d\n", v.dir, v.title, p.step)
			if err := check(&col, bin, p.step, log); err != nil {
				return nil, fmt.Errorf("%s: %w", v.dir, err)
			}
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// build compiles a variant as the course builds steps (static), and
// returns the compiler's complaint when it does not compile.
func build(root, dir, bin string) string {
	cmd := exec.Command("go", "build", "-o", bin, "./harness/testdata/article/"+dir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return ""
	}
	var lines []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasPrefix(line, "#") {
			lines = append(lines, strings.TrimPrefix(line, "harness/testdata/article/"))
		}
	}
	if len(lines) == 0 {
		return err.Error()
	}
	return strings.Join(lines, "; ")
}

func check(col *column, bin string, step int, log io.Writer) error {
	env, err := harness.NewEnv(bin, step)
	if err != nil {
		return err
	}
	defer env.Close()
	col.preflight = env.Preflight()
	for _, c := range harness.ChecksUpTo(step) {
		guard, err := engine.StartGuard(env.Base)
		if err != nil {
			return err
		}
		v := env.Verify(c)
		if diff := guard.Finish(); diff != "" {
			return fmt.Errorf("host guard after %s: %s", c.ID, diff)
		}
		col.verdicts = append(col.verdicts, v)
		col.byID[c.ID] = v
		if !v.Pass {
			fmt.Fprintf(log, "article: %s: %s\n", col.dir, v.Line())
		}
	}
	if col.preflight == "" {
		return nil
	}
	// Once more, to see its stdout too: the article prints ERROR there.
	res, err := env.Run(engine.Invocation{Flags: []string{"--hostname", "article"}, Probe: []string{"report"}})
	if err != nil {
		return err
	}
	col.stopped = stopCause(res.Stdout+"\n"+res.Describe(), col.note)
	return nil
}
