package engine

import (
	"os"
	"runtime"
	"testing"
)

// RequirePrivilegedEnv, set to 1, turns a privileged test's skip into a
// failure, so CI cannot pass by skipping.
const RequirePrivilegedEnv = "STEPBOX_REQUIRE_PRIVILEGED"

// PrivilegeProblem says why privileged tests cannot run here, or "".
func PrivilegeProblem() string {
	if runtime.GOOS != "linux" {
		return "stepbox needs Linux: run the tests as root in a Linux VM"
	}
	if os.Geteuid() != 0 {
		return "needs root to create namespaces and cgroups: run `make test` (it uses sudo), or `sudo -E go test ./...`"
	}
	return ""
}

// RequirePrivileged skips the test, with the remedy, unless it runs as
// root on Linux; under STEPBOX_REQUIRE_PRIVILEGED=1 it fails instead.
func RequirePrivileged(t testing.TB) {
	t.Helper()
	problem := PrivilegeProblem()
	if problem == "" {
		return
	}
	if os.Getenv(RequirePrivilegedEnv) == "1" {
		t.Fatalf("%s=1 but this test cannot run: %s", RequirePrivilegedEnv, problem)
	}
	t.Skip(problem)
}
