package main

import (
	"debug/elf"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stepbox/stepbox/harness"
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
	if static, err := isStatic(self); err != nil || !static {
		fmt.Fprintf(stderr, "stepcheck: %s is not a static binary, so the probe is built from the checkout with Go (build stepcheck with CGO_ENABLED=0 to avoid that)\n", self)
		return
	}
	harness.ProbeBinary = self
}

// isStatic says whether the ELF file at path runs without a dynamic
// loader, as anything copied into a busybox rootfs must.
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
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
