// Package engine runs a binary under test on a real kernel and keeps the
// host unchanged while it does: the runner and its sandbox, the session
// sandbox of the lifecycle checks, the host guard, builds of the steps
// and their mutants, the rootfs, the cgroup helpers and the privilege
// gate. It knows nothing of the checks (package harness): they call it.
package engine

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env is everything needed to run one binary again and again: the
// binary, the step it claims to implement, and a scratch space for its
// runs.
type Env struct {
	Bin      string
	Step     int
	Base     string // the shared, read-only base rootfs
	scratch  string
	hostname string // the --hostname every run asks for
	jail     string // the cgroup jail's name (cgroupjail.go)
}

// NewEnv prepares to run bin as an implementation of step.
func NewEnv(bin string, step int) (*Env, error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("binary to check: %w", err)
	}
	base, err := BaseRootfs()
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "stepbox-check-")
	if err != nil {
		return nil, err
	}
	// Searchable by all: from step 06 the container's root is an
	// unprivileged host id that must reach the rootfs inside.
	if err := os.Chmod(scratch, 0o711); err != nil {
		return nil, err
	}
	e := &Env{Bin: abs, Step: step, Base: base, scratch: scratch, hostname: "sbx-" + RandomHex(4), jail: jailPrefix + RandomHex(4)}
	if err := os.WriteFile(e.HostMarker(), []byte("host only\n"), 0o644); err != nil {
		return nil, err
	}
	return e, nil
}

// Close removes the scratch space and the cgroup jail.
func (e *Env) Close() error {
	_, jailErr := e.SweepJail()
	return errors.Join(jailErr, os.RemoveAll(e.scratch))
}

// Scratch is the Env's scratch directory on the host, for what a check
// makes beside its runs (an image, a bundle).
func (e *Env) Scratch() string { return e.scratch }

// Hostname is the --hostname every run asks for (RunFlags).
func (e *Env) Hostname() string { return e.hostname }

// Jail is the name of the cgroup jail the Env's runs make their cgroups in.
func (e *Env) Jail() string { return e.jail }

// HostMarker is a file on the host, outside any rootfs, that a container
// with its own root must not see.
func (e *Env) HostMarker() string { return filepath.Join(e.scratch, "host-marker") }

// RootfsTokenFile holds a token unique to each rootfs copy, so a check can
// tell the container's / is that copy and nothing else.
const RootfsTokenFile = "/etc/stepbox-rootfs"

// CopyRootfs copies the base rootfs to dst, with a token of its own.
func (e *Env) CopyRootfs(dst string) error {
	if err := CopyTree(e.Base, dst); err != nil {
		return fmt.Errorf("copying the rootfs: %w", err)
	}
	return os.WriteFile(filepath.Join(dst, RootfsTokenFile), []byte(RandomHex(8)+"\n"), 0o644)
}

// RandomHex is n random bytes in hex, for names no other run uses.
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
