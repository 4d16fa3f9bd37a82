package bench

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// stepDirPattern matches steps/NN-name folders.
var stepDirPattern = regexp.MustCompile(`^(\d\d)-[a-z0-9-]+$`)

// findSteps lists the step folders under root/steps, by number, so a
// step that is added later (05 while it is being written) joins the
// bench with no change here.
func findSteps(root string) (map[int]string, error) {
	entries, err := os.ReadDir(filepath.Join(root, "steps"))
	if err != nil {
		return nil, fmt.Errorf("listing steps: %w", err)
	}
	steps := map[int]string{}
	for _, e := range entries {
		m := stepDirPattern.FindStringSubmatch(e.Name())
		if !e.IsDir() || m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1])
		steps[n] = filepath.Join("steps", e.Name())
	}
	return steps, nil
}

// buildStep compiles one step into dir with "go build -o", static like
// the harness's builds, and returns the binary's path.
func buildStep(root, pkgDir, dir string, n int) (string, error) {
	return buildPkg(root, pkgDir, filepath.Join(dir, fmt.Sprintf("step-%02d", n)))
}

// buildPkg compiles the package in root/pkgDir to out, static.
func buildPkg(root, pkgDir, out string) (string, error) {
	cmd := exec.Command("go", "build", "-o", out, "./"+pkgDir)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./%s: %w: %s", pkgDir, err, firstLine(string(msg)))
	}
	return out, nil
}

// stepArgs is the run command line under the step CLI contract
// (DESIGN.md): --hostname from step 02, --rootfs from step 04, --cpus
// from step 05. Steps before 04 have no root filesystem of their own, so
// they run the host's /bin/true.
func stepArgs(bin string, n int, rootfs string, cpus float64) []string {
	args := []string{bin, "run"}
	if n >= 2 {
		args = append(args, "--hostname", "bench")
	}
	if n >= 4 {
		args = append(args, "--rootfs", rootfs)
	}
	if n >= 5 {
		args = append(args, "--cpus", strconv.FormatFloat(cpus, 'f', -1, 64))
	}
	return append(args, "/bin/true")
}

// stepRows builds every step and makes a row for each; a step that does
// not build becomes a skipped row with the compiler's first line, so a
// step under construction does not stop the bench.
func stepRows(root, binDir, rootfs string, cpus float64) ([]*Row, error) {
	steps, err := findSteps(root)
	if err != nil {
		return nil, err
	}
	var rows []*Row
	for _, n := range slices.Sorted(maps.Keys(steps)) {
		name := fmt.Sprintf("step-%02d", n)
		bin, err := buildStep(root, steps[n], binDir, n)
		if err != nil {
			rows = append(rows, &Row{Name: name, step: n, Note: fmt.Sprintf("does not build: %v", err)})
			continue
		}
		args := stepArgs(bin, n, rootfs, cpus)
		display := strings.Join(append([]string{steps[n] + "/BIN"}, args[1:]...), " ")
		rows = append(rows, &Row{
			Name:    name,
			Command: strings.ReplaceAll(display, rootfs, "ROOTFS"),
			step:    n,
			args:    func(string) []string { return args },
		})
	}
	return rows, nil
}

// builtStep is the binary of step n among the step rows, or "" when
// that step is missing or did not build.
func builtStep(rows []*Row, n int) string {
	for _, r := range rows {
		if r.step == n && !r.skipped() {
			return r.args("")[0]
		}
	}
	return ""
}
