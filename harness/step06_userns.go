package harness

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 06: user namespace.
var step06 = Step{
	N: 6,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --uid-map and --gid-map CONTAINER:HOST:SIZE, which host IDs the container's IDs are (by default 0:100000:65536 for root, and for an ordinary user its own ID alone), and hand them on to the child."},
		{Anchor: "Cloneflags: unix.CLONE_NEWUTS |",
			Text: "the container needs a user namespace of its own with those maps, in which the command runs as uid 0 and gid 0: root inside, an unprivileged ID on the host. An ordinary user must be able to run it too."},
		{Anchor: "cg, err := newCgroup()",
			Text: "an ordinary user may not create a cgroup here: run without one, and say so, rather than fail."},
		{Anchor: "if err := pivotRoot(cfg.rootfs); err != nil {",
			Text: "inside a user namespace the kernel creates no device nodes, and mounts a new /proc only while the host's is still in view: the container still needs its /proc and a working /dev/null."},
	},
	Checks: []Check{
		{
			ID: "userns.ns_new", Step: 6,
			Proves: "the container has its own user namespace",
			Hints: [...]string{
				"/proc/self/ns/user inside must differ from the host's: the container needs a user namespace of its own, made together with the others.",
				"Add unix.CLONE_NEWUSER to Cloneflags and give SysProcAttr UidMappings and GidMappings, so the namespace has IDs at all.",
				"The article stops at adding CLONE_NEWUSER to a list: without maps every ID inside is nobody (65534) and the command has no capabilities.",
			},
			Mutants: []Mutant{
				{"userns.ns_new", 6, "creates no user namespace (and so writes no maps), like step 05",
					[]Edit{{"Cloneflags: unix.CLONE_NEWUSER |", "Cloneflags: 0 |", ""},
						{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "", ""},
						{"GidMappings: []syscall.SysProcIDMap{cfg.gidMap},", "", ""}}},
			},
			Run: newNamespace("user"),
		},
		{
			ID: "userns.root_inside", Step: 6,
			Proves: "the command runs as uid 0 and gid 0 inside, with the maps --uid-map and --gid-map ask for",
			Hints: [...]string{
				"With --uid-map and --gid-map given, the command must be uid 0 and gid 0 inside, and /proc/self/uid_map and gid_map must show exactly those maps. Does run accept the flags and hand them on?",
				"Parse CONTAINER:HOST:SIZE into a syscall.SysProcIDMap for UidMappings and GidMappings, and set SysProcAttr.Credential to uid 0, gid 0 so the child switches to root of the namespace before exec.",
				"A map does not change who the child is: started by root it is still the host's root, which the map leaves out, so inside it is nobody until setuid(0). Rootless runs hide this, since there your own ID is the mapped one.",
			},
			Mutants: []Mutant{
				{"userns.root_inside", 6, "ignores --uid-map and always maps the default range",
					[]Edit{{`parseIDMap("--uid-map", *uidMap)`, `parseIDMap("--uid-map", defaultIDMap(os.Geteuid())+(*uidMap)[:0])`, ""}}},
			},
			Run: checkRootInside,
		},
		{
			ID: "userns.host_ids", Step: 6,
			Proves: "outside, the container's processes belong to the mapped host uid and gid",
			Hints: [...]string{
				"Seen from the host, every process of the running container must belong to the mapped host uid and gid, not to root.",
				"Map the container's 0 to an unprivileged host range in UidMappings and GidMappings (HostID 100000 for --uid-map 0:100000:65536), never HostID 0.",
				"Mapping 0 to 0 (the easy way to make everything work) gives a container whose root is the host's root: a user namespace in name only.",
			},
			Mutants: []Mutant{
				{"userns.host_ids", 6, "maps the container's root to the host's root",
					[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
			},
			Run: checkHostIDs,
		},
		{
			ID: "userns.files_owned", Step: 6,
			Proves: "files the container's root creates belong to the mapped host id",
			Hints: [...]string{
				"A file the container's root creates in its rootfs must, on the host, belong to the mapped uid and gid.",
				"Map the container's 0 to the --uid-map and --gid-map host IDs in UidMappings and GidMappings, and make the child uid 0, gid 0 inside (Credential).",
				"With the maps right but the child left as the host's root, or 0 mapped to 0, files come out owned by root on the host.",
			},
			Mutants: []Mutant{
				{"userns.files_owned", 6, "maps the container's root to the host's root",
					[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
			},
			Run: checkFilesOwned,
		},
		{
			ID: "userns.no_host_root", Step: 6,
			Proves: "the container's root cannot write a file of the host's root",
			Hints: [...]string{
				"The container's root must not be able to write a file that belongs to the host's root (in its rootfs; from step 08, whose image is idmapped to the container, /proc/sys/kernel/core_pattern): its power ends where its IDs do.",
				"Map the container's 0 to an unprivileged host range, never to the host's 0; as root, keep setgroups allowed (GidMappingsEnableSetgroups) so Credential clears root's supplementary groups.",
				"Root's supplementary groups survive into the container unless cleared, and still open files of host group 0; mapped to the host's 0, the container keeps real root's power over every host file.",
			},
			Mutants: []Mutant{
				{"userns.no_host_root", 6, "maps the container's root to the host's root",
					[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
			},
			Run: checkNoHostRoot,
		},
		{
			ID: "userns.rootless", Step: 6,
			Proves: "an ordinary user (no privileges) can run the container and is root inside",
			Hints: [...]string{
				"Run by an ordinary user with no privileges, the container must still start, with the user as root inside. What may an ordinary user map, and what may it not do?",
				"As an ordinary user map only your own IDs (0:UID:1, 0:GID:1), and write \"deny\" to setgroups before gid_map: GidMappingsEnableSetgroups false. Skip the cgroup, which only root may make here.",
				"Writing gid_map fails with EPERM unless setgroups is denied first; and the user namespace must be created in the same clone as the others, which it then owns, or creating them needs root.",
			},
			Mutants: []Mutant{
				{"userns.rootless", 6, "leaves setgroups allowed, so an ordinary user may not write gid_map",
					[]Edit{{"GidMappingsEnableSetgroups: os.Geteuid() == 0,", "GidMappingsEnableSetgroups: true,", ""}}},
			},
			Run: checkRootless,
		},
	},
}

// Step 06: a user namespace. The checks ask for maps no runtime would
// choose by default, so a runtime that ignores the flags shows.
const (
	mapUID = 200000 // --uid-map 0:200000:65536
	mapGID = 300000 // --gid-map 0:300000:65536
	// rootlessUID is the unprivileged uid (and gid) the rootless check
	// runs the binary as. It needs no entry in /etc/passwd.
	rootlessUID = 1234567
)

// mapFlags are the run flags with the checks' uid and gid maps.
func (e *Env) mapFlags(extra ...string) []string {
	return e.RunFlags(append([]string{"--uid-map", fmt.Sprintf("0:%d:65536", mapUID), "--gid-map", fmt.Sprintf("0:%d:65536", mapGID)}, extra...)...)
}

// mappedRun runs the probe under the checks' maps; hold, if not nil,
// looks at the live container.
func (e *Env) mappedRun(probeArgs []string, hold func(*probe.Report)) (*engine.Result, Outcome) {
	res, err := e.Run(engine.Invocation{Flags: e.mapFlags(), Probe: probeArgs, Hold: hold})
	if err != nil {
		return nil, fail("the container to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return nil, fail("the probe's report", "none: %s", res.Describe())
	}
	return res, pass()
}

// idMap is a one-line uid_map or gid_map with its columns single-spaced.
func idMap(text string) string { return strings.Join(strings.Fields(text), " ") }

func checkRootInside(e *Env) Outcome {
	res, out := e.mappedRun([]string{"report"}, nil)
	if res == nil {
		return out
	}
	r := res.Report
	wantUID, wantGID := fmt.Sprintf("0 %d 65536", mapUID), fmt.Sprintf("0 %d 65536", mapGID)
	if r.UID != 0 || r.GID != 0 || idMap(r.UIDMap) != wantUID || idMap(r.GIDMap) != wantGID {
		return fail(fmt.Sprintf("uid 0 and gid 0 inside, uid_map %q and gid_map %q", wantUID, wantGID),
			"uid %d gid %d, uid_map %q gid_map %q", r.UID, r.GID, idMap(r.UIDMap), idMap(r.GIDMap))
	}
	return pass()
}

// checkHostIDs looks at the live container's processes from outside:
// they must belong to the mapped host ids, not to root.
func checkHostIDs(e *Env) Outcome {
	out := fail("a look at the container from outside", "the probe never reported")
	res, runOut := e.mappedRun([]string{"report", "--pause"}, func(r *probe.Report) {
		pids := procsInNamespace("pid", r.Namespaces["pid"])
		if len(pids) == 0 {
			out = fail("the container's processes on the host", "none in %s", r.Namespaces["pid"])
			return
		}
		out = pass()
		for _, pid := range pids {
			uid, gid := statusIDs(pid)
			if uid != fmt.Sprint(mapUID) || gid != fmt.Sprint(mapGID) {
				out = fail(fmt.Sprintf("the container's processes owned by uid %d gid %d on the host", mapUID, mapGID),
					"PID %d has uid %s gid %s", pid, uid, gid)
				return
			}
		}
	})
	if res == nil {
		return runOut
	}
	return out
}

// checkFilesOwned: a file the container's root creates belongs, on the
// host, to the host id its root is mapped to.
func checkFilesOwned(e *Env) Outcome {
	const file = "/tmp/stepbox-owned"
	var info os.FileInfo
	err := fmt.Errorf("the container never paused")
	res, out := e.mappedRun([]string{"report", "--create", file, "--pause"}, func(r *probe.Report) {
		// /proc/PID/root is the container's root as the container sees
		// it, whatever it is mounted from: the rootfs, or from step 08 an
		// overlay whose writes go to a layer removed after the run.
		pids := procsInNamespace("pid", r.Namespaces["pid"])
		if len(pids) == 0 {
			err = fmt.Errorf("no process of the container in %s", r.Namespaces["pid"])
			return
		}
		info, err = os.Lstat(fmt.Sprintf("/proc/%d/root%s", pids[0], file))
	})
	if res == nil {
		return out
	}
	if got := res.Report.Created[file]; got != "ok" {
		return fail("the container's root to create "+file, "%s", got)
	}
	if err != nil {
		return fail(file+" in the rootfs on the host", "%v", err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != mapUID || st.Gid != mapGID {
		return fail(fmt.Sprintf("%s owned by %d:%d on the host", file, mapUID, mapGID), "owned by %d:%d", st.Uid, st.Gid)
	}
	return pass()
}

// checkNoHostRoot: the rootfs's files belong to the host's root. Real
// root could write them; the container's root, unprivileged outside,
// must not. The probe only opens the file, it writes nothing.
// checkNoHostRoot opens a file of the host's root for writing (and
// writes nothing): a file of the rootfs, or from step 08, where the image
// is idmapped so that the container's root owns it, a sysctl of the
// host's (core_pattern names the program the kernel runs, as the host's
// root, on a crash).
func checkNoHostRoot(e *Env) Outcome {
	file := engine.RootfsTokenFile
	if e.Has("--state-dir") {
		file = "/proc/sys/kernel/core_pattern"
	}
	res, out := e.mappedRun([]string{"report", "--writable", file}, nil)
	if res == nil {
		return out
	}
	r := res.Report
	got := r.Writable[file]
	if r.UID != 0 || !strings.Contains(got, "permission denied") {
		return fail(fmt.Sprintf("uid 0 inside, yet refused to write %s, a file of the host's root", file),
			"uid %d, opening it for writing: %s", r.UID, got)
	}
	return pass()
}

// checkRootless runs the binary as an ordinary user, without any
// privilege: with a user namespace it still gets root inside.
func checkRootless(e *Env) Outcome {
	if reason := unprivilegedUsernsForbidden(); reason != "" {
		return fail("a kernel that lets ordinary users create user namespaces", "%s", reason)
	}
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: []string{"report"}, User: rootlessUID})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Exit != 0 || res.Report == nil {
		return fail(fmt.Sprintf("uid %d, unprivileged, to run the container", rootlessUID), "%s", res.Describe())
	}
	r := res.Report
	want := fmt.Sprintf("0 %d 1", rootlessUID)
	if r.UID != 0 || idMap(r.UIDMap) != want || idMap(r.GIDMap) != want || r.Hostname != e.Hostname() || r.PID != 1 {
		return fail(fmt.Sprintf("as uid %d: uid 0 inside, uid_map and gid_map %q, hostname %q, PID 1", rootlessUID, want, e.Hostname()),
			"uid %d, uid_map %q, gid_map %q, hostname %q, PID %d", r.UID, idMap(r.UIDMap), idMap(r.GIDMap), r.Hostname, r.PID)
	}
	return pass()
}

// unprivilegedUsernsForbidden names the kernel setting that keeps
// ordinary users from creating user namespaces, or "".
func unprivilegedUsernsForbidden() string {
	for _, s := range []struct{ file, forbids, fix string }{
		{"/proc/sys/user/max_user_namespaces", "0", "sysctl user.max_user_namespaces=15000"},
		{"/proc/sys/kernel/unprivileged_userns_clone", "0", "sysctl kernel.unprivileged_userns_clone=1"},
		{"/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1", "sysctl kernel.apparmor_restrict_unprivileged_userns=0"},
	} {
		if data, err := os.ReadFile(s.file); err == nil && strings.TrimSpace(string(data)) == s.forbids {
			return fmt.Sprintf("%s is %s, which forbids it: %s (as root) allows it", s.file, s.forbids, s.fix)
		}
	}
	return ""
}

// procsInNamespace lists the host PIDs of the processes in the
// namespace of kind whose link reads ns (e.g. "pid:[4026532182]").
func procsInNamespace(kind, ns string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, entry := range entries {
		var pid int
		if _, err := fmt.Sscan(entry.Name(), &pid); err != nil {
			continue
		}
		if link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); err == nil && link == ns {
			pids = append(pids, pid)
		}
	}
	return pids
}

// statusIDs reads the real uid and gid of a process from its status.
func statusIDs(pid int) (uid, gid string) {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" {
			uid = f[1]
		} else if len(f) > 1 && f[0] == "Gid:" {
			gid = f[1]
		}
	}
	return uid, gid
}
