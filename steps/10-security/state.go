//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Each container's directory, STATE/containers/ID, holds besides its
// layer (layer.go):
//
//	state.json   what the container is: its command, PID, cgroup and network, how it ended
//	log          a detached container's output (stdout and stderr)
//	exec.sock    where its init takes "stepbox exec" requests (exec.go)
//
// The runtime that waits for the container writes state.json when the
// container starts and when it ends; every other command only reads it.
// So the container outlives the command that started it, and a runtime
// killed mid-way leaves a state that says "running" with nobody behind
// it: ps shows that as "stopped", and rm cleans up what it recorded.

// state is one container's state.json.
type state struct {
	ID       string    `json:"id"`
	Command  []string  `json:"command"`
	Created  time.Time `json:"created"`
	Status   string    `json:"status"`           // "created", "running", "exited"
	ExitCode int       `json:"exit_code"`        // once exited: the command's status, 128+N if signal N ended it
	Init     bool      `json:"init"`             // PID 1 is the init, which serves exec
	Detached bool      `json:"detached"`         // its output is in the log file
	PID      int       `json:"pid,omitempty"`    // the container's PID 1, on the host
	Runtime  int       `json:"runtime_pid"`      // the runtime waiting for it
	Started  uint64    `json:"runtime_start"`    // that runtime's start time, against PID reuse
	Cgroup   string    `json:"cgroup,omitempty"` // its cgroup directory
	HostEnd  string    `json:"veth,omitempty"`   // the host end of its veth pair
	dir      string    // the container's directory
}

// newState records a new container, before its child starts.
func newState(dir string, cfg config) (*state, error) {
	start, err := processStart(os.Getpid())
	if err != nil {
		return nil, err
	}
	st := &state{ID: filepath.Base(dir), Command: cfg.command, Created: time.Now(), Status: "created",
		Init: cfg.init, Detached: cfg.detach, Runtime: os.Getpid(), Started: start, dir: dir}
	return st, st.save()
}

// running records the child, its cgroup and its network: from here on
// rm knows what to clean up should this runtime die.
func (st *state) running(pid int, cgroup, hostEnd string) error {
	if st == nil {
		return nil
	}
	st.Status, st.PID, st.Cgroup, st.HostEnd = "running", pid, cgroup, hostEnd
	return st.save()
}

// exited records how the container ended. The directory is gone if the
// container was removed meanwhile (rm -f): nothing left to record.
func (st *state) exited(status int) error {
	if st == nil {
		return nil
	}
	st.Status, st.ExitCode = "exited", status
	if err := st.save(); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// save writes state.json whole or not at all: to a temporary file, then
// rename(2), which replaces the old one in one step, so a reader never
// sees half a file.
func (st *state) save() error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the container's state: %w", err)
	}
	path := filepath.Join(st.dir, "state.json")
	if err := os.WriteFile(path+".tmp", append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("cannot write the container's state: %w", err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		return fmt.Errorf("cannot write the container's state: %w", err)
	}
	return nil
}

// isContainerID reports whether id looks like an id: 1 to 12 of the
// lower-case hex digits of newLayer. Anything else is no container of
// ours, and never becomes a path.
func isContainerID(id string) bool {
	if len(id) == 0 || len(id) > 12 {
		return false
	}
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// findContainer loads the container whose id is, or starts with, id.
func findContainer(stateDir, id string) (*state, error) {
	parent := filepath.Join(stateDir, "containers")
	entries, _ := os.ReadDir(parent) // none yet: no such container
	var matches []string
	for _, e := range entries {
		if isContainerID(id) && strings.HasPrefix(e.Name(), id) {
			matches = append(matches, e.Name())
		}
	}
	switch {
	case len(matches) == 0:
		return nil, fmt.Errorf("no such container %q in %s (stepbox ps lists them)", id, parent)
	case len(matches) > 1:
		return nil, fmt.Errorf("container id %q is ambiguous: it starts %s", id, strings.Join(matches, ", "))
	}
	return loadState(filepath.Join(parent, matches[0]))
}

// loadState reads a container's state.json.
func loadState(dir string) (*state, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, fmt.Errorf("cannot read the state of container %s: %w", filepath.Base(dir), err)
	}
	st := &state{dir: dir}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("cannot read the state of container %s: %w", filepath.Base(dir), err)
	}
	return st, nil
}

// live reports whether the runtime that waits for the container still
// runs: only then is the container running, or about to be recorded as
// exited. A runtime that died (SIGKILL, a crash) took its container
// with it (Pdeathsig) and left the state as it was.
func (st *state) live() bool {
	if st.Status == "exited" {
		return false
	}
	start, err := processStart(st.Runtime)
	return err == nil && start == st.Started
}

// shownStatus is the status ps shows: "stopped" when the runtime died
// without recording how the container ended.
func (st *state) shownStatus() string {
	switch {
	case st.Status == "exited":
		return fmt.Sprintf("exited (%d)", st.ExitCode)
	case st.live():
		return st.Status
	default:
		return "stopped"
	}
}

// processStart reads when a process started, in clock ticks since boot
// (field 22 of /proc/PID/stat). A PID is reused once its process is
// gone; the PID and its start time together name one process. A zombie
// (state Z) has ended: it counts as gone.
func processStart(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses,
	// so the fields start after the last ")".
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 20 || fields[0] == "Z" || fields[0] == "X" {
		return 0, fmt.Errorf("process %d has ended", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// waitEnded waits until the container's runtime has recorded its end
// (or died), for up to timeout. By then it has removed the cgroup and
// the network too.
func (st *state) waitEnded(timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); ; {
		if fresh, err := loadState(st.dir); err != nil || !fresh.live() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signal sends sig to the container's PID 1, while its runtime lives.
// From outside, a namespace's PID 1 gets only the signals it handles,
// and SIGKILL: the init handles them all and passes them on.
func (st *state) signal(sig unix.Signal) error {
	if !st.live() || st.PID == 0 {
		return fmt.Errorf("container %s is not running", st.ID)
	}
	if err := unix.Kill(st.PID, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("cannot send %v to container %s: %w", sig, st.ID, err)
	}
	return nil
}
