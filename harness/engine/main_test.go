package engine

import (
	"os"
	"testing"
)

// TestMain removes what the tests built (the probe), so no stepbox-bin-*
// folder is left in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	_ = RemoveBuilds()
	os.Exit(code)
}
