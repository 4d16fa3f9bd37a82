//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The OCI commands that only read or signal a container: state, kill,
// delete, ps, features. None of them is the container's parent.

// oneID parses a command that takes flags and exactly n positionals.
func oneID(name, usage string, args []string, n int, declare func(f interface {
	Bool(string, bool, string) *bool
	String(string, string, string) *string
})) ([]string, error) {
	f := newFlagSet(name)
	if declare != nil {
		declare(f)
	}
	ids, err := parseWithIDs(f, args, n)
	if err != nil || len(ids) < 1 || len(ids) > n {
		return nil, fmt.Errorf("usage: %s", usage)
	}
	return ids, nil
}

// stateCommand is "state ID": the spec's state as JSON.
func stateCommand(g globals, args []string) int {
	ids, err := oneID("state", "state ID", args, 1, nil)
	if err != nil {
		return ociFailed(exitUsage, err)
	}
	r, err := loadRecord(g.root, ids[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	data, _ := json.MarshalIndent(r.specState(), "", "  ") // strings, ints, a map of strings
	fmt.Printf("%s\n", data)
	return 0
}

// ociKillCommand is "kill [--all] ID [SIGNAL]", SIGTERM by default.
func ociKillCommand(g globals, args []string) int {
	var all *bool
	ids, err := oneID("kill", "kill [--all] ID [SIGNAL]", args, 2, func(f interface {
		Bool(string, bool, string) *bool
		String(string, string, string) *string
	}) {
		all = f.Bool("all", false, "signal every process of the container")
		f.Bool("a", false, "") // runc's short spelling; see below
	})
	if err != nil {
		return ociFailed(exitUsage, err)
	}
	sig := unix.SIGTERM
	if len(ids) == 2 {
		if sig, err = parseSignal(ids[1]); err != nil {
			return ociFailed(exitUsage, err)
		}
	}
	r, err := loadRecord(g.root, ids[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	if err := killContainer(r, sig, *all || hasFlag(args, "a")); err != nil {
		return ociFailed(exitRuntime, err)
	}
	return 0
}

// hasFlag reports whether a bool flag is on the command line.
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		if a == "-"+name || a == "--"+name || a == "-"+name+"=true" || a == "--"+name+"=true" {
			return true
		}
	}
	return false
}

// killContainer signals the container's process, or with all every
// process in its cgroup. The spec: kill of a stopped container is an
// error.
func killContainer(r *record, sig unix.Signal, all bool) error {
	if r.current() == statusStopped {
		return fmt.Errorf("container %q is stopped: nothing to signal", r.ID)
	}
	if all && len(r.Cgroups) > 0 {
		for _, pid := range cgroupPids(r.Cgroups[0]) {
			_ = unix.Kill(pid, sig) // one may have gone meanwhile
		}
		return nil
	}
	if err := unix.Kill(r.Pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("cannot send %v to container %q: %w", sig, r.ID, err)
	}
	return nil
}

// deleteCommand is "delete [--force] ID".
func deleteCommand(g globals, args []string) int {
	var force *bool
	ids, err := oneID("delete", "delete [--force] ID", args, 1, func(f interface {
		Bool(string, bool, string) *bool
		String(string, string, string) *string
	}) {
		force = f.Bool("force", false, "kill the container first if it runs")
		f.Bool("f", false, "")
	})
	if err != nil {
		return ociFailed(exitUsage, err)
	}
	r, err := loadRecord(g.root, ids[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	if err := deleteContainer(r, *force || hasFlag(args, "f")); err != nil {
		return ociFailed(exitRuntime, err)
	}
	return 0
}

// deleteContainer removes a stopped container: its cgroups, then, with
// the poststop hooks run, its directory. The spec forbids deleting a
// container that is not stopped; --force kills it first.
func deleteContainer(r *record, force bool) error {
	if status := r.current(); status != statusStopped {
		if !force {
			return fmt.Errorf("container %q is %s: stop it first (kill), or delete --force", r.ID, status)
		}
		_ = unix.Kill(r.Pid, unix.SIGKILL)
		if !waitGone(r, 5*time.Second) {
			return fmt.Errorf("container %q did not die within 5s of SIGKILL", r.ID)
		}
	}
	removeCgroups(r)
	r.Status = statusStopped
	if err := runHooks("poststop", r.Config.Hooks, r); err != nil {
		ociWarn("%v", err) // the spec: logged, and delete goes on
	}
	if err := os.RemoveAll(r.dir); err != nil {
		return fmt.Errorf("cannot remove the state of container %q: %w", r.ID, err)
	}
	return nil
}

// waitGone polls until the container's process has ended.
func waitGone(r *record, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if !r.alive() {
			return true
		}
	}
	return false
}

// ociPsCommand is "ps [--format table|json] ID": the container's
// processes, as PIDs on the host.
func ociPsCommand(g globals, args []string) int {
	var format *string
	ids, err := oneID("ps", "ps [--format table|json] ID", args, 1, func(f interface {
		Bool(string, bool, string) *bool
		String(string, string, string) *string
	}) {
		format = f.String("format", "table", "table or json")
		f.String("f", "table", "")
	})
	if err != nil {
		return ociFailed(exitUsage, err)
	}
	r, err := loadRecord(g.root, ids[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	pids := []int{}
	if len(r.Cgroups) > 0 {
		pids = cgroupPids(r.Cgroups[0])
	} else if r.alive() {
		pids = []int{r.Pid}
	}
	if *format == "json" {
		data, _ := json.Marshal(pids) // ints always encode
		fmt.Printf("%s\n", data)
		return 0
	}
	fmt.Println("PID   CMD")
	for _, pid := range pids {
		cmd, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		fmt.Printf("%-5d %s\n", pid, strings.TrimSpace(string(cmd)))
	}
	return 0
}

// featuresCommand prints what this runtime supports, in the shape of
// runc's "features" (runtime-spec's features.md).
func featuresCommand() int {
	var namespaces, caps []string
	for t := range namespaceFlag {
		namespaces = append(namespaces, string(t))
	}
	for name := range capNumbers {
		caps = append(caps, "CAP_"+name)
	}
	var options []string
	for o := range mountFlags {
		options = append(options, o)
	}
	features := map[string]any{
		"ociVersionMin": "1.0.0", "ociVersionMax": "1.2.0",
		"hooks":        []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"},
		"mountOptions": options,
		"linux": map[string]any{"namespaces": namespaces, "capabilities": caps,
			"cgroup":  map[string]bool{"v1": true, "v2": true, "systemd": false},
			"seccomp": map[string]any{"enabled": true, "actions": []specs.LinuxSeccompAction{specs.ActKill, specs.ActTrap, specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog}}},
	}
	data, _ := json.MarshalIndent(features, "", "  ") // maps and slices of strings always encode
	fmt.Printf("%s\n", data)
	return 0
}
