//go:build linux

package main

import (
	"fmt"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// linux.resources.devices says which device nodes the container may
// open or create, whatever its capabilities and its /dev: the cgroup
// checks every open(2) and mknod(2) of a device. On cgroup v1 that is
// the devices controller's devices.allow and devices.deny, written in
// order ("a *:* rwm" denies all, then each allowed device). cgroup v2
// has no such files: the rules are a BPF program attached to the
// cgroup, which this step does not build (the README says so).
//
// As runc does, the devices every container needs (null, zero, full,
// random, urandom, tty, the pty master and slaves) are allowed after the
// config's rules, so a config that denies everything still has a
// working /dev/null.

// defaultAllowedDevices are appended to the config's rules.
var defaultAllowedDevices = []specs.LinuxDeviceCgroup{
	deviceRule("c", -1, -1, "m"), deviceRule("b", -1, -1, "m"),
	deviceRule("c", 1, 3, "rwm"), deviceRule("c", 1, 5, "rwm"), deviceRule("c", 1, 7, "rwm"),
	deviceRule("c", 1, 8, "rwm"), deviceRule("c", 1, 9, "rwm"), deviceRule("c", 5, 0, "rwm"),
	deviceRule("c", 5, 2, "rwm"), deviceRule("c", 136, -1, "rwm"),
}

// deviceRule is an allow rule; -1 is "any" (*).
func deviceRule(kind string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: true, Type: kind, Access: access}
	if major >= 0 {
		r.Major = &major
	}
	if minor >= 0 {
		r.Minor = &minor
	}
	return r
}

// deviceLine is a rule in the v1 files' syntax: "c 1:3 rwm".
func deviceLine(r specs.LinuxDeviceCgroup) string {
	number := func(n *int64) string {
		if n == nil {
			return "*"
		}
		return strconv.FormatInt(*n, 10)
	}
	kind, access := r.Type, r.Access
	if kind == "" {
		kind = "a"
	}
	if access == "" {
		access = "rwm"
	}
	return fmt.Sprintf("%s %s:%s %s", kind, number(r.Major), number(r.Minor), access)
}

// writeDeviceRules writes the rules to a v1 devices cgroup, in order.
func writeDeviceRules(dir string, rules []specs.LinuxDeviceCgroup) error {
	if len(rules) == 0 {
		return nil
	}
	for _, r := range append(append([]specs.LinuxDeviceCgroup(nil), rules...), defaultAllowedDevices...) {
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := writeFile(filepath.Join(dir, file), deviceLine(r)); err != nil {
			return fmt.Errorf("linux.resources.devices: %w", err)
		}
	}
	return nil
}
