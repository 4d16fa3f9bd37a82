//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

// The commands that manage containers by id: ps, logs, stop, kill, rm
// (exec is in exec.go). Each reads the container's state.json; none of
// them is the container's parent, so none can wait(2) for it: they
// signal it, and watch its state for its runtime to record the end.

// listContainers is "stepbox ps": every container in the state
// directory, running or not, oldest first.
func listContainers(args []string) int {
	cfg, err := parseStateFlags("ps", args, 0)
	if err != nil {
		return failed(exitUsage, err)
	}
	parent := filepath.Join(cfg.stateDir, "containers")
	entries, err := os.ReadDir(parent)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return failed(exitRuntime, fmt.Errorf("cannot list the containers in %q: %w", parent, err))
	}
	var list []*state
	for _, e := range entries {
		if st, err := loadState(filepath.Join(parent, e.Name())); err == nil {
			list = append(list, st)
		}
	}
	slices.SortFunc(list, func(a, b *state) int { return a.Created.Compare(b.Created) })
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tPID\tSTATUS\tCREATED\tCOMMAND")
	for _, st := range list {
		pid := "-"
		if st.shownStatus() == "running" {
			pid = strconv.Itoa(st.PID)
		}
		age := time.Since(st.Created).Round(time.Second)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s ago\t%s\n", st.ID, pid, st.shownStatus(), age, strings.Join(st.Command, " "))
	}
	if err := w.Flush(); err != nil {
		return failed(exitRuntime, err)
	}
	return 0
}

// showLogs is "stepbox logs [-f] ID": what a detached container
// printed; with -f, then what it prints next, until it ends (logs.go).
func showLogs(args []string) int {
	var follow bool
	cfg, err := parseStateFlags("logs", args, 1, func(f *flag.FlagSet) {
		f.BoolVar(&follow, "f", false, "follow the log until the container ends")
		f.BoolVar(&follow, "follow", false, "follow the log until the container ends")
	})
	if err != nil {
		return failed(exitUsage, err)
	}
	st, err := findContainer(cfg.stateDir, cfg.args[0])
	if err != nil {
		return failed(exitRuntime, err)
	}
	if !st.Detached {
		return failed(exitRuntime, fmt.Errorf("container %s ran in the foreground: its output went to the terminal, not to a log", st.ID))
	}
	f, err := os.Open(logPath(st.dir))
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot read the log of container %s: %w", st.ID, err))
	}
	defer f.Close()
	_, err = io.Copy(os.Stdout, f)
	if err == nil && follow {
		err = followLog(st, f)
	}
	if err != nil {
		return failed(exitRuntime, fmt.Errorf("cannot read the log of container %s: %w", st.ID, err))
	}
	return 0
}

// stopCommand is "stepbox stop [-t SECONDS] ID": SIGTERM, then SIGKILL
// if the container is still running after the grace period.
func stopCommand(args []string) int {
	var grace int
	cfg, err := parseStateFlags("stop", args, 1, func(f *flag.FlagSet) {
		f.IntVar(&grace, "t", 10, "seconds to wait after SIGTERM before SIGKILL")
		f.IntVar(&grace, "time", 10, "seconds to wait after SIGTERM before SIGKILL")
	})
	if err == nil && grace < 0 {
		err = fmt.Errorf("--time %d: the grace period is a number of seconds, 0 or more", grace)
	}
	if err != nil {
		return failed(exitUsage, err)
	}
	st, err := findContainer(cfg.stateDir, cfg.args[0])
	if err != nil {
		return failed(exitRuntime, err)
	}
	if err := stopContainer(st, time.Duration(grace)*time.Second); err != nil {
		return failed(exitRuntime, err)
	}
	fmt.Println(st.ID)
	return 0
}

// stopContainer asks the container to end (SIGTERM, which the init
// passes on to the command), gives it the grace period to do so, then
// kills it: SIGKILL to PID 1 ends the whole PID namespace. A container
// that is not running is stopped already.
func stopContainer(st *state, grace time.Duration) error {
	if !st.live() {
		return nil
	}
	if err := st.signal(unix.SIGTERM); err != nil {
		return err
	}
	if st.waitEnded(grace) {
		return nil
	}
	if err := st.signal(unix.SIGKILL); err != nil && st.live() {
		return err
	}
	if !st.waitEnded(10 * time.Second) {
		return fmt.Errorf("container %s did not end 10s after SIGKILL", st.ID)
	}
	return nil
}

// killCommand is "stepbox kill ID [SIGNAL]": send a signal (by default
// SIGKILL), by name (TERM, SIGTERM) or number.
func killCommand(args []string) int {
	cfg, err := parseStateFlags("kill", args, -1)
	if err == nil && len(cfg.args) > 2 {
		err = withUsage(fmt.Errorf("kill takes an id and at most one signal, got %d arguments", len(cfg.args)))
	}
	sig := unix.SIGKILL
	if err == nil && len(cfg.args) == 2 {
		sig, err = parseSignal(cfg.args[1])
	}
	if err != nil {
		return failed(exitUsage, err)
	}
	st, err := findContainer(cfg.stateDir, cfg.args[0])
	if err != nil {
		return failed(exitRuntime, err)
	}
	if err := st.signal(sig); err != nil {
		return failed(exitRuntime, err)
	}
	fmt.Println(st.ID)
	return 0
}

// parseSignal reads a signal name (TERM, SIGTERM, term) or number (15).
func parseSignal(name string) (unix.Signal, error) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return unix.Signal(n), nil
	}
	upper := strings.ToUpper(name)
	if !strings.HasPrefix(upper, "SIG") {
		upper = "SIG" + upper
	}
	if sig := unix.SignalNum(upper); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q: use a name like TERM, KILL, HUP, INT or a number from 1 to 64", name)
}

// removeCommand is "stepbox rm [-f] ID": remove a container that has
// ended, or with -f kill it first.
func removeCommand(args []string) int {
	var force bool
	cfg, err := parseStateFlags("rm", args, 1, func(f *flag.FlagSet) {
		f.BoolVar(&force, "f", false, "kill the container first if it is running")
	})
	if err != nil {
		return failed(exitUsage, err)
	}
	st, err := findContainer(cfg.stateDir, cfg.args[0])
	if err != nil {
		return failed(exitRuntime, err)
	}
	if st.live() && !force {
		return failed(exitRuntime, fmt.Errorf("container %s is running: stepbox stop %s first, or rm -f", st.ID, st.ID))
	}
	if err := removeContainer(st); err != nil {
		return failed(exitRuntime, err)
	}
	fmt.Println(st.ID)
	return 0
}

// removeContainer kills the container if it runs, then removes what its
// runtime could not if it died first (the cgroup and the published ports:
// the state says which; the kernel removed the veth pair with the
// container's namespace), then the container's directory: state, log and
// writable layer.
func removeContainer(st *state) error {
	if st.live() {
		if err := st.signal(unix.SIGKILL); err != nil && st.live() {
			return err
		}
		if !st.waitEnded(10 * time.Second) {
			return fmt.Errorf("container %s did not end 10s after SIGKILL", st.ID)
		}
		if fresh, err := loadState(st.dir); err == nil {
			st = fresh
		}
	}
	if st.Status != "exited" { // its runtime died: nobody cleaned up
		if st.Cgroup != "" {
			if err := (&cgroup{dir: st.Cgroup}).remove(); err != nil {
				return err
			}
		}
		if st.HostEnd != "" {
			if err := (&network{hostEnd: st.HostEnd, published: true}).remove(); err != nil {
				return err
			}
		}
	}
	return (&layer{id: st.ID, dir: st.dir}).remove()
}
