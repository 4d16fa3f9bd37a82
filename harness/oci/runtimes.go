package oci

import (
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/stepbox/stepbox/harness/engine"
)

// RequireClientsEnv, set to 1 (CI sets it), turns a skip for a missing
// client or runtime into a failure. The VM guests run every test
// package without podman or containerd installed: there, without it,
// these tests skip even under STEPBOX_REQUIRE_PRIVILEGED=1.
const RequireClientsEnv = "STEPBOX_REQUIRE_CLIENTS"

// clientRemedy is the one line that says how to get the clients.
const clientRemedy = "sudo apt-get install podman conmon containerd runc crun"

// RequireTools skips t when one of the programs is not installed, with
// the remedy; under STEPBOX_REQUIRE_CLIENTS=1 it fails instead.
func RequireTools(t testing.TB, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			missing(t, fmt.Sprintf("%s is not installed: %s", p, clientRemedy))
			return
		}
	}
}

func missing(t testing.TB, problem string) {
	t.Helper()
	if os.Getenv(RequireClientsEnv) == "1" {
		t.Fatalf("%s=1 but this test cannot run: %s", RequireClientsEnv, problem)
	}
	t.Skip(problem)
}

// A Runtime is an OCI runtime a client can be pointed at.
type Runtime struct {
	Name string
	// Path finds or builds the binary; "" with a reason means it is
	// not available here.
	Path func() (path string, problem string, err error)
	// HideUnified: the runtime refuses hybrid cgroup hosts (crun 1.8),
	// so its sandbox hides cgroup2.
	HideUnified bool
}

// installed finds a runtime on PATH.
func installed(name string) func() (string, string, error) {
	return func() (string, string, error) {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Sprintf("%s is not installed: %s", name, clientRemedy), nil
		}
		return p, "", nil
	}
}

// Step is the course's OCI step, built from steps/11-*.
const Step = 11

// stepRuntime builds step 11. Until its folder exists it is "not
// available", a skip like a missing client (a failure in CI).
func stepRuntime() (string, string, error) {
	root, err := engine.ModuleRoot()
	if err == nil {
		if _, err := engine.StepDir(root, Step); err != nil {
			return "", fmt.Sprintf("step %02d is not written yet (%v)", Step, err), nil
		}
	}
	path, err := engine.BuildStep(Step)
	return path, "", err
}

// Runtimes are the runtimes the client tests run on: runc proves each
// test, crun is a second reference, step 11 is the lesson.
func Runtimes() []Runtime {
	return []Runtime{
		{Name: "runc", Path: installed("runc")},
		{Name: "crun", Path: installed("crun"), HideUnified: true},
		{Name: fmt.Sprintf("step-%02d", Step), Path: stepRuntime},
	}
}

// RuntimePath resolves rt for a test: skips (or fails) when it is not
// available, fails when it cannot be built.
func RuntimePath(t testing.TB, rt Runtime) string {
	t.Helper()
	path, problem, err := rt.Path()
	if err != nil {
		t.Fatalf("%s: %v", rt.Name, err)
	}
	if problem != "" {
		missing(t, problem)
	}
	return path
}
