package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// Step 04: the container's own root filesystem.

func checkIsRootfs(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	want, _ := os.ReadFile(filepath.Join(res.Rootfs, engine.RootfsTokenFile))
	got, ok := res.Report.Files[engine.RootfsTokenFile]
	if !ok || got != string(want) {
		return fail(fmt.Sprintf("%s inside to be the rootfs's (%q)", engine.RootfsTokenFile, strings.TrimSpace(string(want))),
			"%q", strings.TrimSpace(got))
	}
	return pass()
}

func checkHostHidden(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if seen, ok := res.Report.Exists[e.HostMarker()]; !ok || seen {
		return fail(fmt.Sprintf("the host file %s to be invisible", e.HostMarker()), "the container can see it")
	}
	// Invisible at its path is not enough: the host's tree may still be
	// mounted elsewhere (the old root), or a chroot may be climbed out of.
	hunt := res.Report.Escape
	if hunt == nil {
		return fail("the probe's hunt for the host file", "no answer: %s", res.Describe())
	}
	if len(hunt.Found) > 0 {
		return fail(fmt.Sprintf("the host file %s unreachable from the container", e.HostMarker()),
			"it is reachable at %s", strings.Join(hunt.Found, " and "))
	}
	return pass()
}

// mountAllowed are the places a container's own mounts may be.
func mountAllowed(point string) bool {
	for _, dir := range []string{"/proc", "/dev", "/sys", "/tmp", "/run"} {
		if point == dir || strings.HasPrefix(point, dir+"/") {
			return true
		}
	}
	return point == "/"
}

// checkOldRootUnmounted: after pivot_root the old root (the host's whole
// tree) stays mounted until it is detached; it shows as a second "/" or as
// mounts outside the container's usual places.
func checkOldRootUnmounted(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	roots := 0
	var stray []string
	for _, m := range res.Report.Mounts {
		if m.Point == "/" {
			roots++
		}
		if !mountAllowed(m.Point) {
			stray = append(stray, m.Point)
		}
	}
	if res.Report.Mounts == nil {
		return fail("a readable mount table", "none: %s", strings.Join(res.Report.Problems, "; "))
	}
	if roots != 1 || len(stray) > 0 {
		return fail("one / mount and no host mounts", "%d mounts on / and stray mounts %s", roots, engine.ShortList(stray, 5))
	}
	return pass()
}

// checkOldRootRemoved: nothing is left in the rootfs, inside or on the
// host, that the base rootfs does not have.
func checkOldRootRemoved(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	base := engine.DirNames(e.Base)
	var extra []string
	for _, name := range res.Report.RootDir {
		if !slices.Contains(base, name) {
			extra = append(extra, "/"+name+" inside")
		}
	}
	for _, name := range engine.DirNames(res.Rootfs) {
		if !slices.Contains(base, name) {
			extra = append(extra, name+" in the rootfs after the run")
		}
	}
	if len(extra) > 0 {
		return fail("no leftover old-root directory", "%s", strings.Join(extra, ", "))
	}
	return pass()
}

func checkMountsMinimal(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	r := res.Report
	var proc bool
	top := 0 // mounts not under /proc: step 10 masks files in /proc with mounts of their own
	for _, m := range r.Mounts {
		proc = proc || (m.Point == "/proc" && m.FSType == "proc")
		if !strings.HasPrefix(m.Point, "/proc/") {
			top++
		}
	}
	if !proc || !r.HasMountAt("/dev") || top > 9 {
		return fail("a fresh proc on /proc, a /dev, and few mounts", "%d mounts %s%s",
			len(r.Mounts), engine.ShortList(mountPointsOf(res), 8), problems(res))
	}
	return pass()
}

func checkDevNull(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if res.Report.DevNull != "ok" {
		return fail("/dev/null to be the null device and take a write", "%s", res.Report.DevNull)
	}
	return pass()
}

func checkRootfsMissing(e *Env) Outcome {
	missing := "./no-such-rootfs"
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--rootfs", missing), Cmd: []string{"/bin/true"}})
	if err != nil {
		return fail("the binary to run", "a harness error: %v", err)
	}
	line := strings.TrimSpace(res.Stderr)
	if res.Exit != 125 || strings.Count(line, "\n") > 0 || !strings.Contains(line, "no-such-rootfs") || hasPanic(line) {
		return fail(fmt.Sprintf("exit status 125 and one line naming %q", missing), "%s", res.Describe())
	}
	return pass()
}

func mountPointsOf(res *engine.Result) []string {
	var points []string
	for _, m := range res.Report.Mounts {
		points = append(points, m.Point)
	}
	return points
}

func problems(res *engine.Result) string {
	if len(res.Report.Problems) == 0 {
		return ""
	}
	return " (probe: " + strings.Join(res.Report.Problems, "; ") + ")"
}
