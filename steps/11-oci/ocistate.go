//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Each OCI container has a directory ROOT/ID (--root, /run/stepbox by
// default) holding:
//
//	state.json   the record below: the spec's state and what delete needs
//	start.sock   where the waiting init listens for "start"
//
// Its status is never only what the file says: a container whose init
// has died is stopped, whoever saw it die.

// record is state.json.
type record struct {
	specs.State             // ociVersion, id, status, pid, bundle, annotations
	InitStart   uint64      `json:"initStart"`      // the init's start time, against PID reuse
	Cgroups     []string    `json:"cgroups"`        // the cgroup directories the container is in
	Created     []string    `json:"createdCgroups"` // those of them (and their parents) create made
	Config      *specs.Spec `json:"config"`         // config.json as create read it
	dir         string
}

// Status values, the spec's words.
const (
	statusCreating = "creating"
	statusCreated  = "created"
	statusRunning  = "running"
	statusStopped  = "stopped"
)

// containerDir is the container's directory in the state root.
func containerDir(root, id string) string { return filepath.Join(root, id) }

// save writes state.json whole or not at all (see step 09's state.go).
func (r *record) save() error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the state of %s: %w", r.ID, err)
	}
	path := filepath.Join(r.dir, "state.json")
	if err := os.WriteFile(path+".tmp", data, 0o600); err != nil {
		return fmt.Errorf("cannot write the state of %s: %w", r.ID, err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("cannot write the state of %s: %w", r.ID, err)
	}
	return nil
}

// loadRecord finds a container by id.
func loadRecord(root, id string) (*record, error) {
	if err := validID(id); err != nil {
		return nil, err
	}
	dir := containerDir(root, id)
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("container %q does not exist in %s", id, root)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the state of container %q: %w", id, err)
	}
	r := &record{dir: dir}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, fmt.Errorf("cannot read the state of container %q: %w", id, err)
	}
	return r, nil
}

// alive reports whether the container's init (or, once started, its
// process) still runs: the same PID with the same start time, and not
// a zombie.
func (r *record) alive() bool {
	if r.Pid <= 0 {
		return false
	}
	start, err := processStart(r.Pid)
	return err == nil && start == r.InitStart
}

// current is the status as of now: the recorded one, or stopped once
// the process is gone.
func (r *record) current() string {
	if r.Status == statusStopped || !r.alive() {
		return statusStopped
	}
	return string(r.Status)
}

// specState is the state the spec defines, for "state" and for hooks.
func (r *record) specState() specs.State {
	st := r.State
	st.Version = specs.Version
	st.Status = r.current()
	if st.Status == statusStopped {
		st.Pid = 0 // the spec: pid only while the process runs
	}
	return st
}
