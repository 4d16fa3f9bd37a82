package engine

import (
	"path/filepath"
	"slices"
	"strings"
)

// The contract every step follows, in one place: the root README's
// section "The contract every step follows", clause by clause, and the
// run flags with the step each comes from. harness/docs keeps Contract
// and the README the same; the runner and the checks ask Has which flags
// a binary takes, so no other code decides it.

// Contract is the README's section, clause by clause: the synopsis, then
// each bullet, with its line breaks joined.
var Contract = []string{
	"BIN run [--rootfs DIR] [--hostname NAME] [--cpus N] CMD [ARG...]",
	"`--rootfs` from step 04 (default `./rootfs`), `--hostname` from step 02 (default `container`), `--cpus` from step 05 (default 0.5; from 0.01 to the number of CPUs). From step 08 `--rootfs` is a read-only image; the container's writable layer lives under `--state-dir` (default `/var/lib/stepbox`) and is removed after it unless `--rm=false`. From step 07, `-p HOST_PORT:CONTAINER_PORT[/tcp|udp]` (docker's syntax, any number of times) publishes a container's port on the host side.",
	"stdin, stdout and stderr pass through; the exit status is the command's (128+N if signal N killed it). The command replaces the internal child process (exec), so from step 03 it is PID 1.",
	"Exit 2 with one line on stderr for bad usage (no or unknown subcommand, unknown flag, bad flag value, no command); 125 with one line when the runtime fails (missing rootfs, not root, cgroup trouble); 126 when the command cannot be executed; 127 when it does not exist.",
	"The checks run your binary in a fresh working directory whose `./rootfs` is the rootfs, and never pass `--rootfs`: the default must be `./rootfs` relative to the working directory. Names are yours: the checks find your container's cgroup from its `/proc/self/cgroup`, whatever you call it.",
}

// A Flag is one run flag: the step that brings it and its default.
type Flag struct {
	Name    string
	Since   int
	Default string
}

// Flags are the run flags of the contract and of the later steps, in the
// order the steps bring them.
var Flags = []Flag{
	{"--hostname", 2, "container"},
	{"--rootfs", 4, "./rootfs"},
	{"--cpus", 5, "0.5"},
	{"-p", 7, ""}, // publishes a port; only the net.ports checks pass it
	{"--state-dir", 8, "/var/lib/stepbox"},
	{"--rm", 8, "true"},
	{"--init", 9, "true"},
}

// Has says whether the Env's step takes flag (one of Flags).
func (e *Env) Has(flag string) bool {
	i := slices.IndexFunc(Flags, func(f Flag) bool { return f.Name == flag })
	if i < 0 {
		panic("engine: " + flag + " is not in Flags")
	}
	return e.Step >= Flags[i].Since
}

// RunFlags are the flags every run passes, as far as the step has them,
// before extra.
func (e *Env) RunFlags(extra ...string) []string {
	var flags []string
	if e.Has("--hostname") {
		flags = append(flags, "--hostname", e.hostname)
	}
	return append(flags, extra...)
}

// defaultFlags are the flags the runner adds to every run of a step that
// has them, unless the run's own flags give them: --state-dir, the Env's
// own state directory in its scratch space, so no check touches
// /var/lib/stepbox; and --init=false, since the earlier checks look at
// the command as PID 1.
func (e *Env) defaultFlags(flags []string) []string {
	var added []string
	given := func(name string) bool {
		return slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, name) })
	}
	if e.Has("--state-dir") && !given("--state-dir") {
		added = append(added, "--state-dir", e.StateDir())
	}
	if e.Has("--init") && !given("--init") {
		added = append(added, "--init=false")
	}
	return added
}

// StateDir is the state directory of the Env's runs (from step 08).
func (e *Env) StateDir() string { return filepath.Join(e.scratch, "state") }

// ProbePath is where the command finds the probe: inside the rootfs once
// the step pivots into it (04 on), on the host before that.
func (e *Env) ProbePath(rootfs string) string {
	if e.Has("--rootfs") {
		return "/probe"
	}
	return filepath.Join(rootfs, "probe")
}
