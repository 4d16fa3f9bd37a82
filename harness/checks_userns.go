package harness

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

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
func checkNoHostRoot(e *Env) Outcome {
	res, out := e.mappedRun([]string{"report", "--writable", engine.RootfsTokenFile}, nil)
	if res == nil {
		return out
	}
	r := res.Report
	got := r.Writable[engine.RootfsTokenFile]
	if r.UID != 0 || !strings.Contains(got, "permission denied") {
		return fail(fmt.Sprintf("uid 0 inside, yet refused to write %s, a file of the host's root", engine.RootfsTokenFile),
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
