// Command stepcheck runs the checks of a step, and of every earlier step,
// against any binary that follows the step CLI contract, and prints one
// line a check:
//
//	stepcheck --step 04 [--bin PATH] [--json]
//
// Without --bin it checks the reference step. Exit status: 0 when every
// check passes, 1 when any fails, 2 for a usage error.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/stepbox/stepbox/harness"
)

func main() {
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	_ = harness.RemoveBuilds()
	os.Exit(code)
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stepcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	stepFlag := fs.String("step", "", "the step to check against, e.g. 04")
	bin := fs.String("bin", "", "the binary to check (default: the reference step)")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usage(stderr, err)
	}
	step, err := strconv.Atoi(*stepFlag)
	if err == nil {
		err = harness.ValidStep(step)
	} else {
		err = fmt.Errorf("--step %q is not a step number like 04", *stepFlag)
	}
	if err != nil {
		return usage(stderr, err)
	}
	if problem := harness.PrivilegeProblem(); problem != "" {
		fmt.Fprintf(stderr, "stepcheck: %s\n", problem)
		return 1
	}
	if *bin == "" {
		if *bin, err = harness.BuildStep(step); err != nil {
			fmt.Fprintf(stderr, "stepcheck: %v\n", err)
			return 1
		}
	}
	verdicts, err := check(*bin, step)
	if err != nil {
		fmt.Fprintf(stderr, "stepcheck: %v\n", err)
		return 1
	}
	report(stdout, verdicts, *asJSON)
	for _, v := range verdicts {
		if !v.Pass {
			return 1
		}
	}
	return 0
}

// check runs every check under the host guard; a run that changed the
// host is reported as the failed pseudo-check host.unchanged.
func check(bin string, step int) ([]harness.Verdict, error) {
	env, err := harness.NewEnv(bin, step)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	var verdicts []harness.Verdict
	for _, c := range harness.ChecksUpTo(step) {
		g, err := harness.StartGuard(env.Base)
		if err != nil {
			return nil, err
		}
		verdicts = append(verdicts, env.Verify(c))
		if diff := g.Finish(); diff != "" {
			verdicts = append(verdicts, harness.Verdict{
				Check:   harness.Check{ID: "host.unchanged", Step: c.Step, Hint: "clean up everything the runtime creates, also when it fails"},
				Outcome: harness.Outcome{Expected: "the host unchanged after " + c.ID, Got: diff},
			})
		}
	}
	return verdicts, nil
}

type jsonVerdict struct {
	ID       string `json:"id"`
	Step     int    `json:"step"`
	Pass     bool   `json:"pass"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

func report(w io.Writer, verdicts []harness.Verdict, asJSON bool) {
	if !asJSON {
		for _, v := range verdicts {
			fmt.Fprintln(w, v.Line())
		}
		return
	}
	out := make([]jsonVerdict, 0, len(verdicts))
	for _, v := range verdicts {
		j := jsonVerdict{ID: v.ID, Step: v.Step, Pass: v.Pass}
		if !v.Pass {
			j.Expected, j.Got, j.Hint = v.Expected, v.Got, v.Hint
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}

func usage(w io.Writer, err error) int {
	msg := "usage: stepcheck --step N [--bin PATH] [--json]"
	if err != nil {
		msg = fmt.Sprintf("stepcheck: %v (%s)", err, msg)
	}
	fmt.Fprintln(w, msg)
	return 2
}
