// Command ociconformance runs the OCI runtime-tools validation suite
// (v0.9.0, built by make oci-conformance into --tools) against step 11,
// runc and crun in one run, and prints a table of test by runtime:
//
//	go run ./harness/cmd/ociconformance --tools DIR [--runtimes step-11,runc,crun]
//	    [--only REGEXP] [--readme PATH | --no-readme] [--floor FILE] [--record] [--log FILE] [--retry=false]
//
// A test passes fully when it exits 0, prints TAP and prints no "not ok"
// line; one that does not is run once more, for every runtime alike, and
// a pass on that second run shows as such in the table. Each test runs
// in a sandbox of its own (harness/oci: mount, PID, UTS, IPC and network
// namespaces, a private /run; crun's without the cgroup2 mount of a
// hybrid host, which it refuses) under the host guard,
// and the cgroups the suite leaves are removed. The table goes into step
// 11's README between its markers, and step 11's count is checked
// against the floor recorded in --floor.
//
// Exit status: 0 done, 1 a run went wrong or step 11 is below its floor,
// 2 usage. Needs root.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/oci"
)

// rootfsTarball is the suite's rootfs, which the build copies beside
// the programs (the validation programs unpack it from their working
// directory).
var rootfsTarball = "rootfs-" + runtime.GOARCH + ".tar.gz"

// target is a runtime under test.
type target struct {
	name, path  string
	hideUnified bool
	version     string
}

func (t target) title() string {
	if t.version != "" {
		return t.name + " " + t.version
	}
	return t.name
}

// versionOf is what `--version` says first, like "1.1.5+ds1" from
// "runc version 1.1.5+ds1". It asks in a sandbox: crun makes /run/crun
// even for --version.
func versionOf(t target) string {
	sb, err := oci.StartSandbox(t.hideUnified)
	if err != nil {
		return ""
	}
	defer sb.Close()
	r, err := sb.Run(t.path, "--version")
	if err != nil || r.Exit != 0 {
		return ""
	}
	first, _, _ := strings.Cut(r.Stdout, "\n")
	if _, v, ok := strings.Cut(first, " version "); ok {
		return v
	}
	return ""
}

func main() {
	code := run(os.Args[1:], os.Stdout, os.Stderr)
	_ = engine.RemoveBuilds()
	os.Exit(code)
}

// options are the command line's flags.
type options struct {
	tools, names, only, readme, floor, logPath string
	timeout                                    time.Duration
	noReadme, record, retry                    bool
}

// parseOptions reads the flags; false means a usage error (already said).
func parseOptions(args []string, stderr io.Writer) (options, bool) {
	var o options
	flags := flag.NewFlagSet("ociconformance", flag.ContinueOnError)
	flags.SetOutput(stderr)
	flags.StringVar(&o.tools, "tools", "bin/oci-tools", "the built validation programs, runtimetest and "+rootfsTarball)
	flags.StringVar(&o.names, "runtimes", "step-11,runc,crun", "the runtimes, in the table's order")
	flags.StringVar(&o.only, "only", "", "run only the tests matching this regular expression")
	flags.DurationVar(&o.timeout, "timeout", 2*time.Minute, "the longest one test may run")
	flags.StringVar(&o.readme, "readme", "", "the README whose table to rewrite (default: steps/11-*/README.md)")
	flags.BoolVar(&o.noReadme, "no-readme", false, "leave the README alone")
	flags.StringVar(&o.floor, "floor", "", "the file holding step 11's recorded count: fail below it")
	flags.BoolVar(&o.record, "record", false, "write step 11's count into --floor")
	flags.StringVar(&o.logPath, "log", "", "write every test's output here")
	flags.BoolVar(&o.retry, "retry", true, "run a test a runtime did not pass once more (the table marks a second-run pass)")
	if err := flags.Parse(args); err != nil || flags.NArg() > 0 {
		return o, false
	}
	return o, true
}

func run(args []string, stdout, stderr io.Writer) int {
	o, ok := parseOptions(args, stderr)
	if !ok {
		return 2
	}
	if problem := engine.PrivilegeProblem(); problem != "" {
		fmt.Fprintf(stderr, "ociconformance: %s\n", problem)
		return 1
	}
	fail := func(err error) int { fmt.Fprintf(stderr, "ociconformance: %v\n", err); return 1 }
	selected, targets, err := prepare(&o)
	if err != nil {
		return fail(err)
	}
	log, closeLog, err := openLog(o.logPath)
	if err != nil {
		return fail(err)
	}
	defer closeLog()

	start := time.Now()
	s := runAll(o, selected, targets, log, stderr)
	text := table(selected, targets, s.results)
	report(stdout, text, selected, targets, s, start)
	if !o.noReadme && o.only == "" {
		if err := writeReadme(o.readme, text); err != nil {
			fmt.Fprintf(stderr, "ociconformance: the README is left as it was: %v\n", err)
		}
	}
	if o.only != "" || !hasStep(targets) {
		o.floor = "" // a partial run says nothing about the floor
	}
	if code := checkFloor(o.floor, o.record, s.results, stdout, stderr); code != 0 {
		return code
	}
	if s.problems > 0 {
		return fail(fmt.Errorf("%d runs went wrong (above)", s.problems))
	}
	return 0
}

// prepare makes --tools absolute and finds the tests --only selects and
// the runtimes to run them on.
func prepare(o *options) ([]string, []target, error) {
	var err error
	if o.tools, err = filepath.Abs(o.tools); err != nil {
		return nil, nil, err
	}
	all, err := tests(o.tools)
	if err != nil {
		return nil, nil, err
	}
	pattern, err := regexp.Compile(o.only)
	if err != nil {
		return nil, nil, err
	}
	var selected []string
	for _, t := range all {
		if pattern.MatchString(t) {
			selected = append(selected, t)
		}
	}
	targets, err := resolve(strings.Split(o.names, ","))
	return selected, targets, err
}

// openLog opens --log, or discards the log when there is none.
func openLog(path string) (io.Writer, func(), error) {
	if path == "" {
		return io.Discard, func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// sweep is what a run of every test on every runtime found.
type sweep struct {
	results  map[string]map[string]Result // by test, then runtime
	spent    map[string]time.Duration     // by runtime
	problems int                          // runs that went wrong besides the test's verdict
}

// runAll runs every selected test on every target, in order, printing a
// line for each on stderr and its output to log.
func runAll(o options, selected []string, targets []target, log, stderr io.Writer) sweep {
	s := sweep{results: map[string]map[string]Result{}, spent: map[string]time.Duration{}}
	for _, test := range selected {
		s.results[test] = map[string]Result{}
		for _, t := range targets {
			r, problems := runTwice(o, test, t, log, stderr)
			s.problems += problems
			s.results[test][t.name] = r
			s.spent[t.name] += r.Duration
			fmt.Fprintf(stderr, "%-36s %-8s %-16s %5.1fs\n", test, t.name, r.Cell(), r.Duration.Seconds())
			fmt.Fprintf(log, "==== %s on %s: %s (exit %d, %.1fs)\n%s\n", test, t.name, r.Cell(), r.Exit, r.Duration.Seconds(), r.Output)
		}
	}
	return s
}

// runTwice runs one test on one runtime, and once more if it did not
// pass (with --retry): some tests race on a loaded machine (killsig's
// signal file, a seccomp filter's allocation), so every runtime gets a
// second run, and the table says so. It returns the result and how many
// runs went wrong.
func runTwice(o options, test string, t target, log, stderr io.Writer) (Result, int) {
	// The host snapshot also lists a tree that must not change: here
	// the suite itself (the tests bring their own rootfs).
	base := o.tools
	problems := 0
	r, err := guarded(o.tools, test, t, o.timeout, base)
	if err != nil {
		fmt.Fprintf(stderr, "ociconformance: %s on %s: %v\n", test, t.name, err)
		problems++
	}
	if r.Outcome == Pass || !o.retry {
		return r, problems
	}
	fmt.Fprintf(log, "==== %s on %s: %s (exit %d, %.1fs), run again\n%s\n", test, t.name, r.Cell(), r.Exit, r.Duration.Seconds(), r.Output)
	again, err := guarded(o.tools, test, t, o.timeout, base)
	if err != nil {
		fmt.Fprintf(stderr, "ociconformance: %s on %s, second run: %v\n", test, t.name, err)
		problems++
	}
	again.Duration += r.Duration
	again.Retried = again.Outcome == Pass
	return again, problems
}

// report prints the table, each runtime's count and time, and the run's.
func report(stdout io.Writer, text string, selected []string, targets []target, s sweep, start time.Time) {
	fmt.Fprint(stdout, text)
	for _, t := range targets {
		fmt.Fprintf(stdout, "%s passes %d of %d fully (%.0fs)\n", t.name, passes(s.results, t.name), len(selected), s.spent[t.name].Seconds())
	}
	fmt.Fprintf(stdout, "the run took %s\n", time.Since(start).Round(time.Second))
}

// guarded runs one test holding the host lock, removes the cgroups the
// suite left, and says whether the host's hostname, mounts or links
// changed. Unlike the harness's guard it removes no stepbox cgroup it
// did not make: on a shared machine another test's may appear meanwhile.
func guarded(tools, test string, t target, timeout time.Duration, base string) (Result, error) {
	unlock, err := lockHost()
	if err != nil {
		return Result{}, err
	}
	defer unlock()
	before := engine.SnapshotHost(base)
	cgroupsBefore := suiteCgroups()
	r, runErr := runOne(tools, test, t, timeout)
	removed, cgErr := removeNewCgroups(cgroupsBefore)
	if len(removed) > 0 {
		r.Output += fmt.Sprintf("\n(removed the cgroups it left: %s)\n", strings.Join(removed, " "))
	}
	var errs []string
	for _, err := range []error{runErr, cgErr} {
		if err != nil {
			errs = append(errs, err.Error())
		}
	}
	after := engine.SnapshotHost(base)
	before.Cgroups, after.Cgroups = nil, nil // the suite's are removed above
	if diff := cmp.Diff(before, after); diff != "" {
		errs = append(errs, "the host changed (- before, + after):\n"+diff)
	}
	if len(errs) > 0 {
		return r, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return r, nil
}

// lockHost takes the harness's host lock, which every privileged test
// holds while it runs, and returns its release.
func lockHost() (func(), error) {
	lock, err := engine.LockHost()
	if err != nil {
		return nil, err
	}
	return func() { lock.Close() }, nil
}

// resolve finds each runtime: step-11 is built, the others are looked up
// on PATH.
func resolve(names []string) ([]target, error) {
	var targets []target
	for _, name := range names {
		t := target{name: name, hideUnified: name == "crun"}
		switch {
		case name == engine.StepBinaryName(oci.Step):
			path, err := engine.BuildStep(oci.Step)
			if err != nil {
				return nil, err
			}
			t.path = path
		default:
			path, err := exec.LookPath(name)
			if err != nil {
				return nil, fmt.Errorf("runtime %s: %w", name, err)
			}
			t.path = path
		}
		t.version = versionOf(t)
		targets = append(targets, t)
	}
	return targets, nil
}

func writeReadme(path, text string) error {
	if path == "" {
		root, err := engine.ModuleRoot()
		if err != nil {
			return err
		}
		dir, err := engine.StepDir(root, oci.Step)
		if err != nil {
			return err
		}
		path = filepath.Join(root, dir, "README.md")
	}
	return rewriteReadme(path, text)
}

// checkFloor compares step 11's count with the recorded one, or records it.
func checkFloor(path string, record bool, results map[string]map[string]Result, stdout, stderr io.Writer) int {
	if path == "" {
		return 0
	}
	name := engine.StepBinaryName(oci.Step)
	got := passes(results, name)
	if record {
		if err := writeFloor(path, got); err != nil {
			fmt.Fprintf(stderr, "ociconformance: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "recorded %d as %s's floor in %s\n", got, name, path)
		return 0
	}
	want, err := readFloor(path)
	if err != nil {
		fmt.Fprintf(stderr, "ociconformance: %v\n", err)
		return 1
	}
	if got < want {
		fmt.Fprintf(stderr, "ociconformance: %s passes %d tests fully, fewer than the %d recorded in %s\n", name, got, want, path)
		return 1
	}
	fmt.Fprintf(stdout, "%s passes %d, at or above its floor of %d (%s)\n", name, got, want, path)
	return 0
}

func hasStep(targets []target) bool {
	for _, t := range targets {
		if t.name == engine.StepBinaryName(oci.Step) {
			return true
		}
	}
	return false
}
