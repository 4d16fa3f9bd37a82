package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// What the memory numbers mean (see docs/bench.md):
//
//   - parent_hwm_kb: VmHWM (peak resident set) of the runtime's parent
//     process, read from /proc/PID/status while the container sleeps;
//     the parent is then blocked in wait4, and all it still does is exit.
//   - tree_maxrss_kb: ru_maxrss of the runtime as reported by busybox's
//     "time" applet. Linux fills wait4's rusage with the larger of the
//     process's own peak and the peaks of the children it reaped (its
//     RUSAGE_CHILDREN), so this is the largest single process of the
//     runtime: the parent, or the child before exec (exec keeps the old
//     peak). It cannot come from the bench's own wait4: Go starts
//     commands with vfork, and exec then records the bench's own (larger)
//     peak in the child's ru_maxrss. busybox's small footprint is the
//     floor instead, reported as wrapper_floor_kb.
//   - child_kb: the child's peak before exec, when it is larger than the
//     parent's (tree > parent and tree > floor); else "at most the parent".

// Memory is one step's memory report.
type Memory struct {
	Row          string `json:"row"`
	TreeMaxRSSKB int64  `json:"tree_maxrss_kb"`
	ParentHWMKB  int64  `json:"parent_hwm_kb"`
	ParentRSSKB  int64  `json:"parent_rss_kb"`
	ChildKB      int64  `json:"child_kb,omitempty"`
	ChildAtMost  bool   `json:"child_at_most_parent,omitempty"`
	FloorKB      int64  `json:"wrapper_floor_kb"`
	Runs         int    `json:"runs"`
	Err          string `json:"error,omitempty"`
}

// maxrssMarker prefixes busybox time's output, to find it among the
// runtime's own stderr.
const maxrssMarker = "STEPBOX_MAXRSS="

// measureMemory runs the step with "sleep" as its command under busybox
// time, reads the parent's VmHWM and VmRSS mid-run, and reports the
// medians of runs runs.
func measureMemory(r *Row, busybox string, sleepArgs []string, runs int, timeout time.Duration) Memory {
	m := Memory{Row: r.Name}
	var tree, hwm, rss, floor []int64
	for range runs {
		t, h, s, err := memoryOnce(busybox, r.args(newRunID(pid)), sleepArgs, timeout)
		if err != nil {
			m.Err = err.Error()
			continue
		}
		tree, hwm, rss = append(tree, t), append(hwm, h), append(rss, s)
		if f, _, _, err := memoryOnce(busybox, []string{busybox, "true"}, nil, timeout); err == nil {
			floor = append(floor, f)
		}
	}
	m.Runs = len(tree)
	m.TreeMaxRSSKB, m.ParentHWMKB, m.ParentRSSKB = medianInt64(tree), medianInt64(hwm), medianInt64(rss)
	m.FloorKB = medianInt64(floor)
	if m.TreeMaxRSSKB > m.ParentHWMKB && m.TreeMaxRSSKB > m.FloorKB {
		m.ChildKB = m.TreeMaxRSSKB
	} else {
		m.ChildAtMost = true
	}
	return m
}

// memoryOnce runs "busybox time argv", with argv's trailing /bin/true
// swapped for sleepArgs (when given) so the runtime's parent is alive and
// idle long enough to be read from /proc.
func memoryOnce(busybox string, argv, sleepArgs []string, timeout time.Duration) (tree, hwm, rss int64, err error) {
	if sleepArgs != nil {
		argv = append(append([]string{}, argv[:len(argv)-1]...), sleepArgs...)
	}
	cmd := exec.Command(busybox, append([]string{"time", "-f", maxrssMarker + "%M"}, argv...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, fmt.Errorf("starting busybox time: %w", err)
	}
	timer := time.AfterFunc(timeout, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	var readErr error
	if sleepArgs != nil {
		time.Sleep(150 * time.Millisecond) // the sleep in the container lasts longer
		hwm, rss, readErr = childMemory(cmd.Process.Pid)
	}
	if err := cmd.Wait(); err != nil {
		return 0, 0, 0, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, firstLine(stderr.String()))
	}
	if readErr != nil {
		return 0, 0, 0, readErr
	}
	tree, err = parseMaxRSS(stderr.String())
	return tree, hwm, rss, err
}

// parseMaxRSS finds busybox time's report. busybox's "time" (1.35 and
// earlier at least) passes ru_maxrss, already in KiB, through its
// pages-to-KiB conversion, so it prints KiB times pagesize/1024; this
// divides that back out.
func parseMaxRSS(out string) (int64, error) {
	i := strings.LastIndex(out, maxrssMarker)
	if i < 0 {
		return 0, fmt.Errorf("no %s line from busybox time in %q", maxrssMarker, firstLine(out))
	}
	field := strings.Fields(out[i+len(maxrssMarker):])
	if len(field) == 0 {
		return 0, fmt.Errorf("empty %s line from busybox time", maxrssMarker)
	}
	v, err := strconv.ParseInt(field[0], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("busybox time printed %q: %w", field[0], err)
	}
	return v * 1024 / int64(os.Getpagesize()), nil
}

// childMemory reads the memory of busybox time's child: the runtime's
// parent process.
func childMemory(timePid int) (hwm, rss int64, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", timePid, timePid))
	if err != nil {
		return 0, 0, fmt.Errorf("finding the runtime's parent: %w", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) != 1 {
		return 0, 0, fmt.Errorf("busybox time has %d children, want 1", len(fields))
	}
	child, err := strconv.Atoi(fields[0])
	if err != nil {
		return 0, 0, fmt.Errorf("reading the runtime's pid: %w", err)
	}
	return procMemory(child)
}

// procMemory reads VmHWM (peak resident set) and VmRSS, in KiB.
func procMemory(pid int) (hwm, rss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, fmt.Errorf("reading the parent's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch key {
		case "VmHWM":
			hwm = kb
		case "VmRSS":
			rss = kb
		}
	}
	if hwm == 0 {
		return 0, 0, fmt.Errorf("no VmHWM in /proc/%d/status (process gone?)", pid)
	}
	return hwm, rss, sc.Err()
}
