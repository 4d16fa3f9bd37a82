package oci

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test (each ends the goroutine, as the real ones do).
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func gate(t *testing.T, programs ...string) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		RequireTools(r, programs...)
	}()
	<-done
	return r
}

// A missing client skips with the remedy, except under
// STEPBOX_REQUIRE_CLIENTS=1, where it fails; STEPBOX_REQUIRE_PRIVILEGED
// alone does not turn it into a failure (the VM guests have no podman).
func TestClientGate(t *testing.T) {
	const absent = "stepbox-no-such-client"
	t.Setenv(RequireClientsEnv, "")
	t.Setenv("STEPBOX_REQUIRE_PRIVILEGED", "1")
	r := gate(t, absent)
	assert.Contains(t, r.skipped, absent+" is not installed: sudo apt-get install")
	assert.Empty(t, r.failed)

	t.Setenv(RequireClientsEnv, "1")
	r = gate(t, absent)
	assert.Contains(t, r.failed, RequireClientsEnv+"=1 but this test cannot run: "+absent)
	assert.Empty(t, r.skipped)

	r = gate(t, "sh")
	assert.Empty(t, r.failed+r.skipped, "an installed program neither skips nor fails")
}
