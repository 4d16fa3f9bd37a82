package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// PrebuiltEnv names a directory of binaries built ahead of time (step-04,
// probe, ...). The VM backends set it, since the guest has no Go toolchain.
const PrebuiltEnv = "STEPBOX_PREBUILT"

// ModuleRoot finds the stepbox checkout: the directory holding go.mod,
// searched upward from the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run from inside the stepbox checkout")
		}
		dir = parent
	}
}

// StepDir is the package directory of a reference step, e.g.
// "steps/04-pivotroot" for 4, relative to the module root.
func StepDir(root string, step int) (string, error) {
	matches, _ := filepath.Glob(filepath.Join(root, "steps", fmt.Sprintf("%02d-*", step)))
	if len(matches) != 1 {
		return "", fmt.Errorf("no single folder steps/%02d-* under %s (found %d)", step, root, len(matches))
	}
	rel, err := filepath.Rel(root, matches[0])
	return rel, err
}

// builds caches what this process has built, so the many checks of one
// test run build each program once.
var builds struct {
	sync.Mutex
	dir  string
	done map[string]string
}

// BuildDir is this process's scratch folder for binaries.
func BuildDir() (string, error) {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "stepbox-bin-")
		if err != nil {
			return "", err
		}
		builds.dir = dir
		builds.done = map[string]string{}
	}
	return builds.dir, nil
}

// RemoveBuilds deletes what this process has built. Tests and commands
// call it when they are done, so no stepbox-bin-* folder is left in /tmp.
func RemoveBuilds() error {
	builds.Lock()
	defer builds.Unlock()
	dir := builds.dir
	builds.dir, builds.done = "", nil
	if dir == "" {
		return nil
	}
	return os.RemoveAll(dir)
}

// Build compiles the package pkg (a path relative to the module root, like
// "./steps/04-pivotroot") into a static binary named name. overlay, when
// not empty, replaces source files for this build only (go build -overlay):
// the harness makes known-bad programs that way. A binary of that name in
// $STEPBOX_PREBUILT is used as it is.
func Build(name, pkg string, overlay map[string]string) (string, error) {
	if dir := os.Getenv(PrebuiltEnv); dir != "" {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("prebuilt binary %s missing: %w", path, err)
		}
		return path, nil
	}
	out, err := BuildDir()
	if err != nil {
		return "", err
	}
	builds.Lock()
	defer builds.Unlock()
	if path, ok := builds.done[name]; ok {
		return path, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	path := filepath.Join(out, name)
	args := []string{"build", "-o", path}
	if len(overlay) > 0 {
		file := filepath.Join(out, name+".overlay.json")
		data, _ := json.Marshal(map[string]any{"Replace": overlay})
		if err := os.WriteFile(file, data, 0o644); err != nil {
			return "", err
		}
		args = append(args, "-overlay", file)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, strings.TrimSpace(string(msg)))
	}
	builds.done[name] = path
	return path, nil
}

// BuildStep builds the reference program of a step.
func BuildStep(step int) (string, error) {
	root, err := ModuleRoot()
	if err != nil && os.Getenv(PrebuiltEnv) == "" {
		return "", err
	}
	dir := ""
	if err == nil {
		if dir, err = StepDir(root, step); err != nil && os.Getenv(PrebuiltEnv) == "" {
			return "", err
		}
	}
	return Build(StepBinaryName(step), "./"+dir, nil)
}

// StepBinaryName is the file name of a step's binary: "step-04".
func StepBinaryName(step int) string { return fmt.Sprintf("step-%02d", step) }

// ProbeBinary, when set, is a ready static probe used instead of
// building one: stepcheck sets it to its own executable, which is also
// the probe (probe.Main), so it needs neither the checkout nor Go.
var ProbeBinary string

// BuildProbe builds the static probe that runs inside containers.
func BuildProbe() (string, error) {
	if ProbeBinary != "" {
		return ProbeBinary, nil
	}
	return Build("probe", "./harness/cmd/probe", nil)
}
