package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the result to path, making its directory.
func WriteJSON(res *Result, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("making %s: %w", filepath.Dir(path), err)
	}
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the result: %w", err)
	}
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// WriteTable prints the plain-text report. Latencies are shown with
// their ratios to chroot and unshare from the same run: those ratios,
// not the milliseconds, are what to compare between runs and machines.
func WriteTable(w io.Writer, res *Result) error {
	fmt.Fprintf(w, "stepbox bench: %s, kernel %s, %d CPUs, %s; %d iterations (+%d warmup), rows interleaved in random order (seed %d)\n",
		res.Started.Format("2006-01-02 15:04 UTC"), res.Kernel, res.CPUs, res.GoVersion, res.Iterations, res.Warmup, res.Seed)
	for _, tool := range sortedKeys(res.Versions) {
		fmt.Fprintf(w, "  %s: %s\n", tool, res.Versions[tool])
	}
	fmt.Fprintln(w, "\nstart-to-exit latency of /bin/true (ms)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\tmedian\tp10\tp90\tx chroot\tx unshare\tfail\t\tcpu ms\tfaults\tvol cs\t")
	for _, r := range res.Rows {
		if r.N == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t%d\t\t-\t-\t-\t\n", r.Name, r.Failures)
			continue
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%s\t%s\t%d\t\t%.2f\t%d\t%d\t\n",
			r.Name, r.Median, r.P10, r.P90, ratio(r.VsChroot), ratio(r.VsUnshare), r.Failures,
			r.CPUMS, r.Faults, r.CtxSwitches)
	}
	tw.Flush()
	fmt.Fprintln(w, "(cpu ms, faults, vol cs: medians of the CPU time, minor page faults and voluntary context\n"+
		" switches of the row's whole process tree, from wait4; faults and vol cs barely move with load)")
	writeNotes(w, res)
	writeMemory(w, res.Memory)
	if res.MemoryNote != "" {
		fmt.Fprintln(w, res.MemoryNote)
	}
	writeThroughput(w, res.Throughput)
	writeHost(w, res)
	return nil
}

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

// writeNotes lists each row's command and any caveat or error.
func writeNotes(w io.Writer, res *Result) {
	fmt.Fprintln(w, "\nrows:")
	for _, r := range res.Rows {
		line := "  " + r.Name + ": " + r.Command
		if r.Note != "" {
			line += " [" + r.Note + "]"
		}
		if r.FirstError != "" && r.N > 0 {
			line += " [first error: " + r.FirstError + "]"
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}

func writeMemory(w io.Writer, mem []Memory) {
	if len(mem) == 0 {
		return
	}
	fmt.Fprintln(w, "\nmemory of each step (KiB, median; see docs/bench.md)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\tparent peak\tparent rss\ttree peak\tchild before exec\twrapper floor\truns\t")
	for _, m := range mem {
		child := fmt.Sprint(m.ChildKB)
		if m.ChildAtMost {
			child = fmt.Sprintf("<= %d", m.ParentHWMKB)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%d\t%d\t\n", m.Row, m.ParentHWMKB, m.ParentRSSKB, m.TreeMaxRSSKB, child, m.FloorKB, m.Runs)
	}
	tw.Flush()
	for _, m := range mem {
		if m.Err != "" {
			fmt.Fprintf(w, "  %s: %s\n", m.Row, m.Err)
		}
	}
}

func writeThroughput(w io.Writer, ts []Throughput) {
	if len(ts) == 0 {
		return
	}
	fmt.Fprintln(w, "\nthroughput (/bin/true containers started concurrently)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\tconcurrency\truns\tseconds\tcontainers/s\tfail\t")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.1f\t%d\t\n", t.Row, t.Concurrency, t.Runs, t.Seconds, t.PerSecond, t.Failures)
	}
	tw.Flush()
	for _, t := range ts {
		if t.FirstError != "" {
			fmt.Fprintf(w, "  %s, concurrency %d: %s\n", t.Row, t.Concurrency, t.FirstError)
		}
	}
}

func writeHost(w io.Writer, res *Result) {
	fmt.Fprintf(w, "\nhost: mountinfo lines %d before, %d after; stepbox cgroups %d before, %d after\n",
		res.HostBefore.Mounts, res.HostAfter.Mounts, len(res.HostBefore.Cgroups), len(res.HostAfter.Cgroups))
	if len(res.RemovedLinks) > 0 {
		fmt.Fprintf(w, "network: the bench's own namespace; removed the kept %s before checking it\n", strings.Join(res.RemovedLinks, " "))
	}
	if len(res.RemovedCgroups) > 0 {
		fmt.Fprintf(w, "host: removed leftover bench cgroups: %s\n", strings.Join(res.RemovedCgroups, " "))
	}
	if res.HostChanged != "" {
		fmt.Fprintf(w, "host: CHANGED: %s\n", res.HostChanged)
	} else {
		fmt.Fprintln(w, "host: unchanged")
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
