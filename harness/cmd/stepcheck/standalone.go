package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/fsutil"
)

// useSelfAsProbe makes this executable the probe the rootfs gets, when it
// can run there: a static binary (no ELF interpreter), as `make
// stepcheck-bin` and CGO_ENABLED=0 builds make it. Then stepcheck runs
// from any directory with no Go toolchain. A dynamic stepcheck falls back
// to building the probe from the checkout, and says why.
func useSelfAsProbe(stderr io.Writer) {
	self, err := os.Executable()
	if err != nil {
		return
	}
	if static, err := fsutil.IsStatic(self); err != nil || !static {
		fmt.Fprintf(stderr, "stepcheck: %s is not a static binary, so the probe is built from the checkout with Go (build stepcheck with CGO_ENABLED=0 to avoid that)\n", self)
		return
	}
	engine.ProbeBinary = self
}

// hintsPath is where hint levels are kept: in the workspace inside a
// checkout, else in the user's cache directory.
func hintsPath(workspace string) (string, error) {
	if workspace != "" {
		return filepath.Join(workspace, hintsFile), nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no place to keep hints outside a checkout: %w", err)
	}
	dir := filepath.Join(cache, "stepbox")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return filepath.Join(dir, "stepcheck-hints"), nil
}
