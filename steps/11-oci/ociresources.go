//go:build linux

package main

import (
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// resourceWrite is one limit, as v1 and v2 each spell it.
type resourceWrite struct {
	controller     string
	v1File, v2File string
	v1, v2         string
}

func (w resourceWrite) file(v2 bool) string {
	if v2 {
		return w.v2File
	}
	return w.v1File
}

func (w resourceWrite) value(v2 bool) string {
	if v2 {
		return w.v2
	}
	return w.v1
}

// maxOr is a limit in v2's spelling: "max" for none (zero or less).
func maxOr(n int64) string {
	if n <= 0 {
		return "max"
	}
	return strconv.FormatInt(n, 10)
}

// resourceWrites lists the writes linux.resources asks for.
//
//	cpu.quota/period   v1 cpu.cfs_quota_us + cpu.cfs_period_us   v2 cpu.max "QUOTA PERIOD"
//	cpu.shares         v1 cpu.shares (2..262144)                 v2 cpu.weight (1..10000)
//	memory.limit       v1 memory.limit_in_bytes                  v2 memory.max
//	pids.limit         v1 pids.max                               v2 pids.max
func resourceWrites(res *specs.LinuxResources) []resourceWrite {
	var list []resourceWrite
	if c := res.CPU; c != nil {
		period := uint64(100000)
		if c.Period != nil && *c.Period > 0 {
			period = *c.Period
		}
		if c.Quota != nil && *c.Quota != 0 || c.Period != nil {
			quota := int64(-1)
			if c.Quota != nil && *c.Quota > 0 {
				quota = *c.Quota
			}
			p := strconv.FormatUint(period, 10)
			list = append(list,
				resourceWrite{"cpu", "cpu.cfs_period_us", "cpu.max", p, maxOr(quota) + " " + p},
				resourceWrite{"cpu", "cpu.cfs_quota_us", "cpu.max", strconv.FormatInt(quota, 10), maxOr(quota) + " " + p})
		}
		if c.Shares != nil && *c.Shares > 0 {
			// The conversion runc and crun use: 2..262144 onto 1..10000.
			weight := 1 + ((*c.Shares-2)*9999)/262142
			list = append(list, resourceWrite{"cpu", "cpu.shares", "cpu.weight",
				strconv.FormatUint(*c.Shares, 10), strconv.FormatUint(weight, 10)})
		}
	}
	if c := res.CPU; c != nil {
		list = append(list, cpusetAndRealtime(c)...)
	}
	if m := res.Memory; m != nil && m.Limit != nil {
		list = append(list, resourceWrite{"memory", "memory.limit_in_bytes", "memory.max",
			strconv.FormatInt(*m.Limit, 10), maxOr(*m.Limit)})
	}
	if p := res.Pids; p != nil {
		list = append(list, resourceWrite{"pids", "pids.max", "pids.max", maxOr(p.Limit), maxOr(p.Limit)})
	}
	return list
}

// cpusetAndRealtime are the CPU writes beyond the quota and shares: which
// CPUs and memory nodes the container may use (cpuset), and the
// real-time scheduler's budget (v1 only: v2 has no per-cgroup one, and
// an empty v2 file name skips the write there).
func cpusetAndRealtime(c *specs.LinuxCPU) []resourceWrite {
	var list []resourceWrite
	if c.Cpus != "" {
		list = append(list, resourceWrite{"cpuset", "cpuset.cpus", "cpuset.cpus", c.Cpus, c.Cpus})
	}
	if c.Mems != "" {
		list = append(list, resourceWrite{"cpuset", "cpuset.mems", "cpuset.mems", c.Mems, c.Mems})
	}
	if c.RealtimePeriod != nil && *c.RealtimePeriod > 0 {
		v := strconv.FormatUint(*c.RealtimePeriod, 10)
		list = append(list, resourceWrite{"cpu", "cpu.rt_period_us", "", v, ""})
	}
	if c.RealtimeRuntime != nil && *c.RealtimeRuntime > 0 {
		v := strconv.FormatInt(*c.RealtimeRuntime, 10)
		list = append(list, resourceWrite{"cpu", "cpu.rt_runtime_us", "", v, ""})
	}
	return list
}
