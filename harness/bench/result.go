package bench

import (
	"os/exec"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Result is everything one bench run measured; it is written as JSON.
type Result struct {
	Started        time.Time         `json:"started"`
	Kernel         string            `json:"kernel"`
	CPUs           int               `json:"cpus"`
	GoVersion      string            `json:"go_version"`
	Versions       map[string]string `json:"versions"`
	Iterations     int               `json:"iterations"`
	Warmup         int               `json:"warmup"`
	Seed           uint64            `json:"seed"`
	Rows           []RowResult       `json:"rows"`
	Memory         []Memory          `json:"memory"`
	MemoryNote     string            `json:"memory_note,omitempty"`
	Throughput     []Throughput      `json:"throughput"`
	HostBefore     HostState         `json:"host_before"`
	HostAfter      HostState         `json:"host_after"`
	HostChanged    string            `json:"host_changed"`
	RemovedCgroups []string          `json:"removed_cgroups,omitempty"`
	RemovedLinks   []string          `json:"removed_links,omitempty"`
}

// RowResult is one row's latency: the summary and its ratios to the two
// references measured in the same run.
type RowResult struct {
	Name    string `json:"name"`
	Command string `json:"command,omitempty"`
	Note    string `json:"note,omitempty"`
	Summary
	UsageSummary
	VsChroot   float64   `json:"median_vs_chroot"`
	VsUnshare  float64   `json:"median_vs_unshare"`
	Failures   int       `json:"failures"`
	FirstError string    `json:"first_error,omitempty"`
	SamplesMS  []float64 `json:"samples_ms"`
}

func newResult(cfg Config) *Result {
	r := &Result{
		Started:    time.Now().UTC(),
		CPUs:       runtime.NumCPU(),
		GoVersion:  runtime.Version(),
		Iterations: cfg.Iterations,
		Warmup:     cfg.Warmup,
		Seed:       cfg.Seed,
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		r.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return r
}

// summarizeRows turns raw runs into row results with ratios to the
// chroot and unshare rows (0, shown as "-", when a reference is missing).
func summarizeRows(runs []*rowRuns) []RowResult {
	out := make([]RowResult, len(runs))
	refs := map[string]float64{}
	for i, rr := range runs {
		s := Summarize(rr.samples)
		out[i] = RowResult{
			Name: rr.row.Name, Command: rr.row.Command, Note: rr.row.Note,
			Summary: s, UsageSummary: summarizeUsage(rr.usage), Failures: rr.failures,
		}
		if rr.firstErr != nil {
			out[i].FirstError = rr.firstErr.Error()
		}
		for _, d := range rr.samples {
			out[i].SamplesMS = append(out[i].SamplesMS, float64(d)/float64(time.Millisecond))
		}
		if s.N > 0 {
			refs[rr.row.Name] = s.Median
		}
	}
	for i := range out {
		if out[i].N > 0 {
			out[i].VsChroot = Ratio(out[i].Median, refs["chroot"])
			out[i].VsUnshare = Ratio(out[i].Median, refs["unshare"])
		}
	}
	return out
}

// toolVersions records the first line of each reference tool's version.
func toolVersions() map[string]string {
	v := map[string]string{}
	for _, tool := range []string{"runc", "crun", "unshare", "chroot"} {
		bin, err := exec.LookPath(tool)
		if err != nil {
			continue
		}
		cmd := exec.Command(bin, "--version")
		out, err := cmd.Output()
		if err == nil {
			v[tool] = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
		}
	}
	return v
}
