package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ociRuntime describes runc, crun or step 11: all take the same
// command line.
type ociRuntime struct {
	name  string
	bin   string  // its path; "" looks name up on PATH
	root  string  // its state directory (--root); "" keeps its default
	start starter // how to start it; crun needs a private mount namespace
	note  string  // a caveat shown in the report
}

// ociRows makes a row per OCI runtime found on PATH. Each gets its own
// bundle (config.json) pointing at the shared rootfs, and its own cgroup
// path named stepbox-bench-*, so a leak is easy to spot and to clean;
// one of each per throughput worker (workers), as containers running at
// once cannot share a cgroup path.
// The bench installs nothing: a missing runtime is a skipped row.
// step11 is step 11's binary (the step's OCI command line, on the same
// bundle as runc and crun), or "" when it did not build.
func ociRows(tmp, rootfs string, cpus float64, crunStart starter, crunNote string, timeout time.Duration, step11 string, workers int) []*Row {
	runtimes := []ociRuntime{
		{name: "runc"},
		{name: "crun", start: crunStart, note: crunNote},
	}
	if step11 != "" {
		// Its state under the bench's scratch directory, removed with it,
		// not a /run/stepbox left on the host.
		runtimes = append(runtimes, ociRuntime{name: "step-11-oci", bin: step11, root: filepath.Join(tmp, "state-step-11")})
	}
	var rows []*Row
	for _, rt := range runtimes {
		rows = append(rows, ociRow(rt, tmp, rootfs, cpus, timeout, workers))
	}
	return rows
}

// ociRow prepares one runtime's row, with a bundle per worker.
func ociRow(rt ociRuntime, tmp, rootfs string, cpus float64, timeout time.Duration, workers int) *Row {
	bin := rt.bin
	if bin == "" {
		var err error
		if bin, err = exec.LookPath(rt.name); err != nil {
			return &Row{Name: rt.name, Note: "not installed (apt-get install " + rt.name + ")"}
		}
	}
	if rt.start == nil && rt.note != "" {
		return &Row{Name: rt.name, Note: rt.note}
	}
	bundles := make([]string, max(workers, 1))
	for w := range bundles {
		suffix := map[bool]string{true: "", false: fmt.Sprintf("-%d", w)}[w == 0]
		bundles[w] = filepath.Join(tmp, "bundle-"+rt.name+suffix)
		opts := OCIOptions{
			Rootfs:     rootfs,
			Args:       []string{"/bin/true"},
			CgroupPath: fmt.Sprintf("/stepbox-bench-%s-%d%s", rt.name, os.Getpid(), suffix),
			CPUs:       cpus,
		}
		if err := WriteBundle(bundles[w], opts); err != nil {
			return &Row{Name: rt.name, Note: err.Error()}
		}
	}
	global := []string{bin}
	if rt.root != "" {
		global = append(global, "--root", rt.root)
	}
	global = global[:len(global):len(global)] // each run appends to its own copy
	return &Row{
		Name:    rt.name,
		Command: filepath.Base(bin) + map[bool]string{true: " --root STATE", false: ""}[rt.root != ""] + " run --bundle BUNDLE ID",
		Note:    rt.note,
		args:    func(id string) []string { return append(global, "run", "--bundle", bundles[0], id) },
		workerArgs: func(w int, id string) []string {
			return append(global, "run", "--bundle", bundles[w%len(bundles)], id)
		},
		start: rt.start,
		cleanup: func(id string) {
			// "run" deletes the container when it exits; after a
			// failure or a kill, state may remain: force-delete it.
			runOnce(append(global, "delete", "--force", id), timeout, rt.start)
		},
	}
}
