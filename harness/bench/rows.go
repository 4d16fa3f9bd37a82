package bench

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"sync/atomic"
)

// Row is one way of starting a container that runs /bin/true.
type Row struct {
	Name    string // e.g. "chroot", "step-05", "runc"
	Command string // a readable command line, for the report
	Note    string // why the row was skipped, or a caveat

	args func(id string) []string // argv for one run; id is unique per run
	// workerArgs, when set, is args for throughput worker w: runs at once
	// that must not share something (runc's and crun's cgroup path).
	workerArgs func(w int, id string) []string
	start      starter         // nil: (*exec.Cmd).Start
	cleanup    func(id string) // after a failed run: remove runtime state
	step       int             // step number for step rows, else 0
}

// runIDs makes ids unique across the whole bench run (runc and crun keep
// state per id, and a reused id would fail).
var runIDs atomic.Int64

// newRunID returns a fresh id with this process's pid, so two benches
// running at once do not collide either.
func newRunID(pid int) string {
	return fmt.Sprintf("stepbox-bench-%d-%d", pid, runIDs.Add(1))
}

// baseRows are the references every verdict is a ratio to: plain chroot
// (no namespaces at all: the floor of fork+exec+exit) and util-linux
// unshare with the namespaces of step 05 and a fresh /proc.
func baseRows(rootfs string) []*Row {
	var rows []*Row
	if chroot, err := exec.LookPath("chroot"); err == nil {
		rows = append(rows, &Row{
			Name:    "chroot",
			Command: "chroot ROOTFS /bin/true",
			args:    func(string) []string { return []string{chroot, rootfs, "/bin/true"} },
		})
	} else {
		rows = append(rows, &Row{Name: "chroot", Note: "chroot not found (coreutils)"})
	}
	if unshare, err := exec.LookPath("unshare"); err == nil {
		// --root chroots inside unshare itself (one exec fewer than
		// "unshare ... chroot"), and --mount-proc then mounts a proc for
		// the new PID namespace on the rootfs's /proc. --mount makes
		// mounts private by default (--propagation private).
		args := []string{unshare, "--uts", "--ipc", "--mount", "--pid", "--fork", "--root=" + rootfs, "--mount-proc", "/bin/true"}
		rows = append(rows, &Row{
			Name:    "unshare",
			Command: "unshare --uts --ipc --mount --pid --fork --root=ROOTFS --mount-proc /bin/true",
			args:    func(string) []string { return args },
		})
	} else {
		rows = append(rows, &Row{Name: "unshare", Note: "unshare not found (util-linux)"})
	}
	return rows
}

// goFloorRow is the least a Go runtime can do to start the same
// container (harness/bench/gofloor): one Go process, no re-exec. It is
// what a Go step's ratio to unshare is to be read against.
func goFloorRow(root, binDir, rootfs string) *Row {
	bin, err := buildPkg(root, "harness/bench/gofloor", filepath.Join(binDir, "go-floor"))
	if err != nil {
		return &Row{Name: "go-floor", Note: fmt.Sprintf("does not build: %v", err)}
	}
	args := []string{bin, rootfs, "/bin/true"}
	return &Row{
		Name:    "go-floor",
		Command: "harness/bench/gofloor ROOTFS /bin/true",
		args:    func(string) []string { return args },
	}
}

// skipped reports whether the row cannot run.
func (r *Row) skipped() bool { return r.args == nil }
