package qemu

import (
	"os"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A binary for another architecture than the guest's is refused on the
// host, not found out in the guest as "exec format error".
func TestRequireMachine(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	assert.NoError(t, requireMachine(self, runtime.GOARCH))
	other := map[string]string{"amd64": "arm64", "arm64": "amd64"}[runtime.GOARCH]
	if other == "" {
		t.Skipf("no guest architecture other than the host's %s to compare", runtime.GOARCH)
	}
	assert.ErrorContains(t, requireMachine(self, other), "the "+other+" guest needs")
}

// The private apt's file name is the one apt-get download writes.
func TestDebFile(t *testing.T) {
	a, err := LookArch("arm64")
	require.NoError(t, err)
	assert.Equal(t, "busybox-static_1%3a1.35.0-4+deb12u1+b1_arm64.deb", a.Busybox.File())
	assert.Equal(t, "linux-image-6.1.0-47-arm64-unsigned_6.1.170-3_arm64.deb", a.Kernel.File())
}
