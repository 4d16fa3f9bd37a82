// Package bench measures how long stepbox's steps take to start and stop
// a container, side by side with chroot, util-linux unshare, runc and
// crun in one interleaved run, plus the steps' memory and throughput.
// It is driven by harness/cmd/bench ("make bench"); docs/bench.md says
// how to read the results.
package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/stepbox/stepbox/harness/engine"
)

// pid names this run's runtime ids and cgroups.
var pid = os.Getpid()

// Config is what one bench run does.
type Config struct {
	Iterations     int           // measured rounds; every row runs once per round
	Warmup         int           // rounds run first and thrown away
	Seed           uint64        // seeds the row order of each round
	Timeout        time.Duration // bound of one container run
	CPUs           float64       // step 05's --cpus, and the same quota for runc and crun
	MemoryRuns     int           // runs per step for the memory report
	ThroughputRuns int           // containers started per concurrency level
	Concurrency    []int         // concurrency levels for the throughput report
	Lock           bool          // hold the harness's host lock (tests wait meanwhile)
	OwnNetns       bool          // the bench runs in a network namespace of its own (harness/cmd/bench sees to it)
	Rows           []string      // names of the rows to run (nil: every row)
	Progress       io.Writer     // progress lines; nil for none
}

// Run prepares the rootfs and the rows, measures, cleans up and checks
// that the host is as it was.
func Run(cfg Config) (*Result, error) {
	root, err := engine.ModuleRoot()
	if err != nil {
		return nil, fmt.Errorf("finding the checkout: %w", err)
	}
	tmp, err := os.MkdirTemp("", "stepbox-bench-")
	if err != nil {
		return nil, fmt.Errorf("making a temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	// From step 06 the container's root is an unprivileged host uid, which
	// must be able to pass through this directory to the rootfs.
	if err := os.Chmod(tmp, 0o711); err != nil {
		return nil, err
	}
	base, rootfs, err := prepareRootfs(tmp)
	if err != nil {
		return nil, err
	}
	var guard *engine.HostGuard
	if cfg.Lock {
		cfg.progress("bench: waiting for the harness host lock")
		if guard, err = engine.StartGuard(base); err != nil {
			return nil, fmt.Errorf("taking the host lock: %w", err)
		}
	}
	res := newResult(cfg)
	res.HostBefore = snapshotHost()
	stateMade := notThere(defaultStateDir)
	rows, closeRows, err := makeRows(root, tmp, rootfs, cfg, res)
	if err != nil {
		if guard != nil {
			guard.Finish()
		}
		return nil, err
	}
	measure(rows, cfg, res)
	closeRows()
	if cfg.OwnNetns {
		res.RemovedLinks = removeKeptBridges()
	}
	res.RemovedCgroups = removeOwnCgroups()
	if stateMade {
		removeEmptyState(defaultStateDir)
	}
	res.HostAfter = snapshotHost()
	res.HostChanged = hostDiff(res.HostBefore, res.HostAfter)
	if guard != nil {
		if diff := guard.Finish(); diff != "" {
			res.HostChanged += "\nharness host guard: " + diff
		}
	}
	return res, nil
}

// prepareRootfs gets the harness's cached busybox rootfs and copies it
// into tmp, so nothing the bench runs can touch the cache. The harness
// builds the probe in a temp dir it keeps for the life of the process;
// pointing TMPDIR at tmp meanwhile makes that dir ours to remove.
func prepareRootfs(tmp string) (base, rootfs string, err error) {
	old, had := os.LookupEnv("TMPDIR")
	os.Setenv("TMPDIR", tmp)
	base, err = engine.BaseRootfs()
	if had {
		os.Setenv("TMPDIR", old)
	} else {
		os.Unsetenv("TMPDIR")
	}
	if err != nil {
		return "", "", fmt.Errorf("getting the busybox rootfs: %w", err)
	}
	rootfs = filepath.Join(tmp, "rootfs")
	if err := engine.CopyTree(base, rootfs); err != nil {
		return "", "", fmt.Errorf("copying the rootfs: %w", err)
	}
	return base, rootfs, nil
}

// makeRows builds the steps and lists every row; the returned func
// removes runtime state and ends crun's namespace thread.
func makeRows(root, tmp, rootfs string, cfg Config, res *Result) ([]*Row, func(), error) {
	binDir := filepath.Join(tmp, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("making the bin dir: %w", err)
	}
	cfg.progress("bench: building the steps")
	steps, err := stepRows(root, binDir, rootfs, cfg.CPUs)
	if err != nil {
		return nil, nil, err
	}
	crunStart, crunNote, launcher := crunStarter()
	rows := append(baseRows(rootfs), goFloorRow(root, binDir, rootfs))
	rows = append(rows, steps...)
	workers := 1
	for _, n := range cfg.Concurrency {
		workers = max(workers, n)
	}
	rows = append(rows, ociRows(tmp, rootfs, cfg.CPUs, crunStart, crunNote, cfg.Timeout, builtStep(steps, 11), workers)...)
	if rows, err = selectRows(rows, cfg.Rows); err != nil {
		return nil, nil, err
	}
	res.Versions = toolVersions()
	closeRows := func() {
		sweepRuntimeState(rows, cfg.Timeout)
		if launcher != nil {
			launcher.Close()
		}
	}
	return rows, closeRows, nil
}

// selectRows keeps the rows named in names (--rows), in their usual
// order; nil names keeps them all, and a name no row has is an error.
func selectRows(rows []*Row, names []string) ([]*Row, error) {
	if names == nil {
		return rows, nil
	}
	var kept []*Row
	for _, r := range rows {
		if slices.Contains(names, r.Name) {
			kept = append(kept, r)
		}
	}
	for _, name := range names {
		if !slices.ContainsFunc(kept, func(r *Row) bool { return r.Name == name }) {
			return nil, fmt.Errorf("--rows: no row is named %q", name)
		}
	}
	return kept, nil
}

// crunStarter decides how crun is started on this host: normally, or,
// on a hybrid cgroup host, from a thread that cannot see cgroup2.
func crunStarter() (starter, string, *nsLauncher) {
	unified, err := hybridCgroup2()
	if err != nil {
		return nil, "cannot tell the cgroup layout: " + err.Error(), nil
	}
	if unified == "" {
		return nil, "", nil
	}
	l, err := startLauncher(unified)
	if err != nil {
		return nil, "hybrid cgroup host, and hiding cgroup2 from crun failed: " + err.Error(), nil
	}
	return l.Start, "hybrid cgroup host: started in a private mount namespace without " + unified, l
}

// measure fills res with the latency, memory and throughput reports.
func measure(rows []*Row, cfg Config, res *Result) {
	cfg.progress(fmt.Sprintf("bench: latency, %d rows x %d iterations (+%d warmup)", len(rows), cfg.Iterations, cfg.Warmup))
	runs := measureLatency(rows, cfg.Iterations, cfg.Warmup, cfg.Seed, cfg.Timeout, cfg.Progress)
	res.Rows = summarizeRows(runs)
	busybox, err := engine.FindBusybox()
	if err != nil {
		res.MemoryNote = "memory not measured: " + err.Error()
	}
	for _, r := range rows {
		if r.step == 0 || r.skipped() || cfg.MemoryRuns <= 0 || busybox == "" {
			continue
		}
		cfg.progress("bench: memory of " + r.Name)
		res.Memory = append(res.Memory, measureMemory(r, busybox, []string{"/bin/sleep", "0.4"}, cfg.MemoryRuns, cfg.Timeout))
	}
	if cfg.ThroughputRuns <= 0 {
		return
	}
	// Each concurrency level runs every row in turn, so that rows are
	// compared at the same level minutes apart at most, not a whole
	// row's levels apart; the table then lists them row by row.
	trows := throughputRows(rows)
	byRow := make([][]Throughput, len(trows))
	for _, n := range cfg.Concurrency {
		for i, r := range trows {
			cfg.progress(fmt.Sprintf("bench: throughput of %s, %d at a time", r.Name, n))
			byRow[i] = append(byRow[i], measureThroughput(r, n, cfg.ThroughputRuns, cfg.Timeout))
		}
	}
	for _, ts := range byRow {
		res.Throughput = append(res.Throughput, ts...)
	}
}

// throughputRows are the rows whose throughput is measured: step 10,
// everything on and the course's own command line (or the latest step
// when there is no step 10), beside runc and crun.
func throughputRows(rows []*Row) []*Row {
	var step, latest *Row
	var tools []*Row
	for _, r := range rows {
		switch {
		case r.skipped():
		case r.step == 10:
			step = r
		case r.step != 0:
			latest = r
		case r.Name == "runc" || r.Name == "crun":
			tools = append(tools, r)
		}
	}
	if step == nil {
		step = latest
	}
	if step == nil {
		return tools
	}
	return append([]*Row{step}, tools...)
}

func (cfg Config) progress(msg string) {
	if cfg.Progress != nil {
		fmt.Fprintln(cfg.Progress, msg)
	}
}
