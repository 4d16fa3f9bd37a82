package main

import (
	"fmt"
	"strings"

	"github.com/stepbox/stepbox/harness"
)

// A pitfall is a bullet of a step README's Pitfalls section.
type pitfall struct {
	step  string // the step's folder, e.g. "04-pivotroot"
	title string // the bullet's bold text
}

func (p pitfall) link() string {
	return fmt.Sprintf("[%s](../steps/%s/README.md#pitfalls)", p.title, p.step)
}

// checkPitfalls: the Pitfall a check's failure demonstrates, when the
// probe ran and the check could look. A check with none has a note
// instead (noPitfall).
var checkPitfalls = map[string]pitfall{
	"cli.args":               {"01-reexec", "`-c` eaten by stepbox"},
	"cli.exit_status":        {"01-reexec", "The exit status is lost"},
	"cli.not_found":          {"01-reexec", "The exit status is lost"},
	"cli.usage":              {"01-reexec", "A panic instead of an error"},
	"cli.exec":               {"01-reexec", "An extra process"},
	"uts.ns_new":             {"02-uts", "You renamed your machine"},
	"uts.host_unchanged":     {"02-uts", "You renamed your machine"},
	"pid.one":                {"03-pid-mnt", "The command is PID 2, not 1"},
	"proc.only_container":    {"03-pid-mnt", "`ps` shows all the host's processes"},
	"mnt.no_leak":            {"03-pid-mnt", "Your host grows a new `/proc` mount after each run"},
	"mnt.minimal":            {"03-pid-mnt", "`ps` shows all the host's processes"},
	"root.host_hidden":       {"04-pivotroot", "The article's version leaves the host wide open"},
	"root.oldroot_unmounted": {"04-pivotroot", "The article's version leaves the host wide open"},
	"root.oldroot_removed":   {"04-pivotroot", "The article's version leaves the host wide open"},
	"dev.null":               {"04-pivotroot", "`sh: can't create /dev/null`"},
	"cgroup.removed":         {"05-cgroups", "The article puts the runtime in the cgroup"},
	"cgroup.separate":        {"05-cgroups", "A fixed name"},
	"cgroup.from_start":      {"05-cgroups", "The command runs unlimited for a moment"},
	"cgroup.quota_written":   {"05-cgroups", "The article puts the runtime in the cgroup"},
	"cgroup.enforced":        {"05-cgroups", "The article puts the runtime in the cgroup"},
	"cli.fds":                {"05-cgroups", "fd 3 in the container"},
}

// noPitfall says what a check's failure shows when no Pitfall names it:
// a part of the contract the article never had.
var noPitfall = map[string]string{
	"uts.hostname":    "the article never sets a hostname",
	"ipc.ns_new":      "the article has no `CLONE_NEWIPC`",
	"rootfs.missing":  "the article has no `--rootfs` and never checks `./rootfs`",
	"cgroup.bad_cpus": "the article has no `--cpus`",
}

var (
	pivotEINVAL  = pitfall{"04-pivotroot", "`cannot pivot_root into \"...\": invalid argument`"}
	doesNotBuild = pitfall{"05-cgroups", "The article does not compile"}
	noProc       = pitfall{"03-pid-mnt", "`ps` shows all the host's processes"}
)

// ownRun are the checks that judge runs of their own, which do not depend
// on the probe running: bad usage, a missing rootfs.
var ownRun = map[string]bool{"cli.usage": true, "rootfs.missing": true}

// cell is a check's verdict in the table: PASS, or FAIL with the Pitfall
// (or the missing part of the contract) it shows. In a column whose
// program never ran the probe, a check that needed it fails for that
// reason, not its own.
func cell(col column, v harness.Verdict) string {
	if v.Pass {
		return "PASS"
	}
	text := v.Expected + " " + v.Got + " " + v.Cause
	switch {
	case col.preflight != "" && !ownRun[v.ID]:
		return "FAIL: " + col.stopped
	case strings.Contains(text, "is /proc mounted") || strings.Contains(text, "readlink /proc/self/"):
		return "FAIL: /proc never mounted: " + noProc.link()
	case v.ID == "cli.usage" && !strings.Contains(text, "panic"):
		return "FAIL: it never checks its arguments"
	}
	if p, ok := checkPitfalls[v.ID]; ok {
		return "FAIL: " + p.link()
	}
	if note, ok := noPitfall[v.ID]; ok {
		return "FAIL: " + note
	}
	return "FAIL: no Pitfall names this yet"
}

// stopCause names what stopped a program before the probe ran, from a
// run's output and description; note is the variant's own word for it.
func stopCause(out, note string) string {
	low := strings.ToLower(strings.ReplaceAll(out, "_", ""))
	switch {
	case strings.Contains(low, "invalid argument") &&
		(strings.Contains(low, "pivotroot") || strings.Contains(out, "left mounts outside the container")):
		return "`panic: invalid argument`, its bind mount leaked: " + pivotEINVAL.link()
	case strings.Contains(out, `"--hostname"`):
		return "it runs `--hostname` as the command: the article knows none of [the contract](../README.md#the-contract-every-step-follows)'s flags"
	case note != "":
		return note
	}
	return "no probe report (see the line above the table)"
}
