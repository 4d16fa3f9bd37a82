package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/fsutil"
)

// crossEnv makes every binary static and for the guest's architecture
// (goarch), whatever the host is: the initramfs has no libc and no Go
// toolchain.
// Binaries are also stripped (-ldflags=-s drops the symbol table and
// DWARF; panics still name functions): a third less to load and copy
// under emulation. A GOFLAGS from the caller is left as it is.
func crossEnv(goarch string) map[string]string {
	env := map[string]string{"CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": goarch}
	if os.Getenv("GOFLAGS") == "" {
		env["GOFLAGS"] = "-ldflags=-s"
	}
	return env
}

// envList turns a map of variables into KEY=VALUE entries.
func envList(vars map[string]string) []string {
	var list []string
	for k, v := range vars {
		list = append(list, k+"="+v)
	}
	sort.Strings(list)
	return list
}

// TestPackage is one package whose compiled test binary runs in the guest.
type TestPackage struct {
	Name string // the package directory, e.g. "steps/03-pid-mnt" or "harness"
	Bin  string // the compiled binary on the host
}

// Built is everything compiled for the guest.
type Built struct {
	Init     string        // the guest's PID 1
	Tests    []TestPackage // in run order: harness first, then the steps
	Prebuilt string        // directory of step-NN, probe, mutant-*
	Steps    []int         // the step numbers that have a folder
}

// stepFolder matches steps/NN-name.
var stepFolder = regexp.MustCompile(`^(\d\d)-[a-z0-9-]+$`)

// StepFolders lists steps/NN-* under root, in order, with their numbers.
func StepFolders(root string) (names []string, numbers []int, err error) {
	entries, err := os.ReadDir(filepath.Join(root, "steps"))
	if err != nil {
		return nil, nil, fmt.Errorf("listing steps: %w", err)
	}
	for _, e := range entries {
		m := stepFolder.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		var n int
		fmt.Sscanf(m[1], "%d", &n)
		names = append(names, "steps/"+e.Name())
		numbers = append(numbers, n)
	}
	return names, numbers, nil
}

// BuildAll compiles, into out, the init, one test binary per step folder
// and for ./harness, and the prebuilt binaries the harness looks up in
// $STEPBOX_PREBUILT. goarch is the guest's GOARCH: the QEMU guest's, or
// whatever the guest reports for the Vagrant backend.
func BuildAll(root, out, goarch string) (*Built, error) {
	return BuildFor(root, out, goarch, nil, "")
}

// BuildFor is BuildAll for the test packages in only (all when empty),
// with only the prebuilt binaries their tests use: a step's test needs
// its step and the probe; the harness's tests need every step and every
// mutant. breakCheck's mutant is built too, for BreakStep. Test binaries
// build two at a time, alongside the harness's own builds.
func BuildFor(root, out, goarch string, only []string, breakCheck string) (*Built, error) {
	folders, steps, err := StepFolders(root)
	if err != nil {
		return nil, err
	}
	pkgs, err := selectPackages(root, append([]string{"harness"}, folders...), only)
	if err != nil {
		return nil, err
	}
	want := prebuiltFor(pkgs, folders, steps, breakCheck)
	// Snapshot the environment now: BuildPrebuilt changes TMPDIR for the
	// harness's builds while these run.
	env := append(os.Environ(), envList(crossEnv(goarch))...)
	b := &Built{Init: filepath.Join(out, "init"), Prebuilt: filepath.Join(out, "prebuilt"), Steps: want.steps}
	if err := os.MkdirAll(filepath.Join(out, "tests"), 0o755); err != nil {
		return nil, err
	}
	jobs := []func() error{
		func() error { return goCmd(root, env, "build", "-o", b.Init, "./harness/vm/guestinit") },
		func() error { return BuildPrebuilt(b.Prebuilt, want.steps, want.mutants, goarch) },
	}
	for _, pkg := range pkgs {
		t := TestPackage{Name: pkg, Bin: filepath.Join(out, "tests", strings.ReplaceAll(pkg, "/", "_")+".test")}
		b.Tests = append(b.Tests, t)
		jobs = append(jobs, func() error { return goCmd(root, env, "test", "-c", "-o", t.Bin, "./"+pkg) })
	}
	if err := runJobs(2, jobs); err != nil {
		return nil, err
	}
	for _, bin := range append([]string{b.Init}, testBins(b.Tests)...) {
		if err := requireStatic(bin); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// selectPackages keeps the packages with tests that only names (all when
// only is empty), in their order; naming none that exists is an error.
func selectPackages(root string, all, only []string) ([]string, error) {
	var kept []string
	for _, pkg := range all {
		if !hasTests(filepath.Join(root, pkg)) {
			continue
		}
		if len(only) == 0 || slices.ContainsFunc(only, func(w string) bool {
			return pkg == strings.TrimPrefix(strings.TrimSuffix(w, "/"), "./")
		}) {
			kept = append(kept, pkg)
		}
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("no test package matches %v", only)
	}
	return kept, nil
}

// prebuiltSet is what BuildPrebuilt makes: step binaries and mutants.
type prebuiltSet struct {
	steps   []int
	mutants []harness.Mutant
}

// prebuiltFor is what the packages' tests look up in $STEPBOX_PREBUILT.
func prebuiltFor(pkgs, folders []string, steps []int, breakCheck string) prebuiltSet {
	if slices.Contains(pkgs, "harness") {
		// The harness's tests build the variants too (harness.Variants).
		return prebuiltSet{steps, append(slices.Clone(harness.Mutants), harness.Variants...)}
	}
	var set prebuiltSet
	for i, f := range folders {
		if slices.Contains(pkgs, f) {
			set.steps = append(set.steps, steps[i])
		}
	}
	for _, m := range harness.Mutants {
		if m.Check == breakCheck {
			set.mutants = append(set.mutants, m)
		}
	}
	return set
}

func testBins(ts []TestPackage) []string {
	var bins []string
	for _, t := range ts {
		bins = append(bins, t.Bin)
	}
	return bins
}

// hasTests reports whether a package directory has any _test.go file.
func hasTests(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	return len(m) > 0
}

// goCmd runs the go command in root with env.
func goCmd(root string, env []string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// runJobs runs fns with at most n at a time and returns the first error.
func runJobs(n int, fns []func() error) error {
	sem := make(chan struct{}, n)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// BuildPrebuilt writes into dir the binaries the harness builds on the
// fly — step-NN for each of steps, the probe, and each of mutants — by
// calling the harness's own build functions, so the guest runs exactly
// what `go test` on the host would build. The harness
// builds into a process-wide temporary directory that it never removes;
// TMPDIR is pointed at a scratch directory for the calls, and that is
// removed afterwards.
func BuildPrebuilt(dir string, steps []int, mutants []harness.Mutant, goarch string) error {
	if os.Getenv(engine.PrebuiltEnv) != "" {
		return fmt.Errorf("%s is set on the host: unset it, the QEMU backend builds the prebuilt binaries itself", engine.PrebuiltEnv)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp("", "stepbox-vm-prebuilt-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	vars := crossEnv(goarch)
	vars["TMPDIR"] = scratch
	restore := setenv(vars)
	defer restore()

	type job struct {
		name  string
		build func() (string, error)
	}
	jobs := []job{{"probe", engine.BuildProbe}}
	for _, n := range steps {
		jobs = append(jobs, job{engine.StepBinaryName(n), func() (string, error) { return engine.BuildStep(n) }})
	}
	for _, m := range mutants {
		jobs = append(jobs, job{harness.MutantName(m), func() (string, error) { return harness.BuildMutant(m) }})
	}
	for _, j := range jobs {
		path, err := j.build()
		if err != nil {
			return fmt.Errorf("building %s: %w", j.name, err)
		}
		if err := requireStatic(path); err != nil {
			return err
		}
		if err := fsutil.CopyFile(path, filepath.Join(dir, j.name), 0o755); err != nil {
			return fmt.Errorf("copying %s: %w", j.name, err)
		}
	}
	return nil
}

// setenv sets variables and returns a function that restores them.
// Calls happen before any concurrent use of the harness's builds.
func setenv(vars map[string]string) func() {
	old := map[string]*string{}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			old[k] = &v
		} else {
			old[k] = nil
		}
		os.Setenv(k, vars[k])
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// requireStatic refuses a binary that needs a dynamic loader: the guest
// has none, and the failure there would be a bare "not found".
func requireStatic(path string) error {
	static, err := fsutil.IsStatic(path)
	if err != nil {
		return fmt.Errorf("checking %s is static: %w", path, err)
	}
	if !static {
		return fmt.Errorf("%s is dynamically linked; the guest has no libc (build with CGO_ENABLED=0)", path)
	}
	return nil
}
