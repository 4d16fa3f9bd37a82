package harness

import (
	"os"
	"testing"

	"github.com/stepbox/stepbox/harness/engine"
)

// TestMain removes what the tests built (the probe, steps, mutants), so no
// stepbox-bin-* folder is left in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	_ = engine.RemoveBuilds()
	os.Exit(code)
}
