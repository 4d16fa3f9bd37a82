// Command stepcheck runs the checks of a step, and of every earlier step,
// against a binary that follows the step CLI contract:
//
//	stepcheck --step 04 [--bin PATH] [--json]   one line a check, then a summary
//	stepcheck --step 04 --hint [--bin PATH]     the next hint for the first failing check
//	stepcheck --progress                        the learner's table of steps x checks
//
// Without --bin it checks the learner's copy of the step,
// workspace/04-pivotroot (see `make exercise`), built as it is now, or the
// reference step when there is no copy. --workspace DIR moves the
// workspace. Exit status: 0 when every check passes (with --hint or
// --progress: when they could run), 1 when a check fails or the checks
// cannot run, 2 for a usage error.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

func main() {
	// Copied into a rootfs as /probe, this binary is the probe.
	if filepath.Base(os.Args[0]) == "probe" {
		probe.Main()
		return
	}
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	_ = engine.RemoveBuilds()
	os.Exit(code)
}

// options is the parsed command line.
type options struct {
	step      int
	bin       string
	json      bool
	hint      bool
	progress  bool
	workspace string // where learners' copies live; the module's workspace/ by default
}

const usageLine = "usage: stepcheck --step N [--bin PATH] [--json | --hint] [--workspace DIR], or stepcheck --progress [--workspace DIR]"

func parseArgs(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("stepcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	stepFlag := fs.String("step", "", "the step to check against, e.g. 04")
	fs.StringVar(&o.bin, "bin", "", "the binary to check (default: your copy in the workspace, else the reference step)")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON")
	fs.BoolVar(&o.hint, "hint", false, "show the next hint for the first failing check")
	fs.BoolVar(&o.progress, "progress", false, "check every copy in the workspace and print a table of steps x checks")
	fs.StringVar(&o.workspace, "workspace", "", "where your copies of the steps are (default: workspace/ in the stepbox checkout)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp{fs}
		}
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.progress {
		if *stepFlag != "" || o.bin != "" || o.json || o.hint {
			return o, errors.New("--progress checks every copy in the workspace: it takes no --step, --bin, --json or --hint")
		}
		return o, nil
	}
	if o.hint && o.json {
		return o, errors.New("--hint and --json do not go together")
	}
	step, err := strconv.Atoi(*stepFlag)
	if err != nil {
		return o, fmt.Errorf("--step %q is not a step number like 04", *stepFlag)
	}
	o.step = step
	return o, harness.ValidStep(step)
}

func run(args []string, stdout, stderr io.Writer) int {
	o, err := parseArgs(args)
	var help errHelp
	if errors.As(err, &help) {
		help.print(stdout)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "stepcheck: %v (%s)\n", err, usageLine)
		return 2
	}
	if problem := engine.PrivilegeProblem(); problem != "" {
		fmt.Fprintf(stderr, "stepcheck: %s\n", privilegeRemedy(problem, args))
		return 1
	}
	useSelfAsProbe(stderr)
	if o.workspace == "" {
		root, err := engine.ModuleRoot()
		switch {
		case err == nil:
			o.workspace = filepath.Join(root, "workspace")
		case o.bin == "":
			fmt.Fprintf(stderr, "stepcheck: outside a stepbox checkout there are no copies to check: give --bin PATH (%v)\n", err)
			return 1
		}
	}
	switch {
	case o.progress:
		err = progress(stdout, o.workspace)
	case o.hint:
		err = hint(stdout, o)
	default:
		var failed bool
		failed, err = check(stdout, stderr, o)
		if err == nil && failed {
			return 1
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "stepcheck: %v\n", err)
		return 1
	}
	return 0
}

// check runs every check of the step and prints the verdicts; failed
// says whether any check failed.
func check(stdout, stderr io.Writer, o options) (failed bool, err error) {
	t, err := resolveTarget(o)
	if err != nil {
		return false, err
	}
	if t.note != "" {
		fmt.Fprintln(stderr, t.note)
	}
	run, err := harness.CheckAll(t.bin, o.step, harness.ChecksUpTo(o.step), false)
	if err != nil {
		return false, err
	}
	if o.json {
		printJSON(stdout, run.Verdicts)
	} else {
		run.Label, run.HintCmd = t.label, hintCommand(o)
		fmt.Fprint(stdout, run.String())
	}
	return run.Failed(), nil
}

// runChecks runs checks in order against bin, each under the host guard
// (harness.CheckAll); pre is Env.Preflight's line: why no check could
// look, if none could.
func runChecks(bin string, step int, checks []harness.Check, stopAtFailure bool) (verdicts []harness.Verdict, pre string, err error) {
	run, err := harness.CheckAll(bin, step, checks, stopAtFailure)
	return run.Verdicts, run.First, err
}

// hostUnchanged is the pseudo-check the host guard fails.
const hostUnchanged = harness.HostUnchanged

// summary is the last line of a check run: how many passed, which
// failing check to fix first (harness.FixOrder), and the command that
// gives its hints for the same binary.
func summary(verdicts []harness.Verdict, o options) string {
	return harness.Transcript{Step: o.step, Verdicts: verdicts, HintCmd: hintCommand(o)}.Summary()
}

type jsonVerdict struct {
	ID       string `json:"id"`
	Step     int    `json:"step"`
	Pass     bool   `json:"pass"`
	Expected string `json:"expected,omitempty"`
	Got      string `json:"got,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

func printJSON(w io.Writer, verdicts []harness.Verdict) {
	out := make([]jsonVerdict, 0, len(verdicts))
	for _, v := range verdicts {
		j := jsonVerdict{ID: v.ID, Step: v.Step, Pass: v.Pass}
		if !v.Pass {
			j.Expected, j.Got, j.Hint = v.Expected, v.Got, v.HintText()
		}
		out = append(out, j)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
}
