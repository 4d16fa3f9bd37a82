package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// Step 04: pivot_root into the rootfs.
var step04 = Step{
	N: 4,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --rootfs DIR (default ./rootfs), the directory that becomes the container's /, and hand it on to the child."},
		{Anchor: "status, err := runContainer(cfg)",
			Text: "a rootfs that does not exist must fail here, before anything is created: one line on stderr naming it, exit 125."},
		{Anchor: "if err := mountProc(); err != nil {",
			Text: "make the rootfs the container's /: the host's files out of reach, the old root no longer mounted, and nothing left behind in the rootfs. After it, the new root needs a fresh /proc and a /dev of its own with a working null device."},
	},
	Checks: []Check{
		{
			ID: "root.is_rootfs", Step: 4,
			Proves: "/ inside the container is the rootfs given by --rootfs",
			Hints: [...]string{
				"/ inside must be the --rootfs directory. Does run accept --rootfs and hand it to the child, and does the child switch its root before exec?",
				"In the child: bind-mount the rootfs onto itself (MS_BIND|MS_REC), chdir into it, unix.PivotRoot(\".\", \".\"), then look the command up inside.",
				"pivot_root fails with `invalid argument` when / is shared (make it private first) or the rootfs is not a mount point (the bind mount makes it one).",
			},
			Mutants: []Mutant{
				{"root.is_rootfs", 4, "never pivots into the rootfs",
					[]Edit{dropCall("pivotRoot(cfg.rootfs)"), dropCall("detachOldRoot()")}},
			},
			Run: checkIsRootfs,
		},
		{
			ID: "root.host_hidden", Step: 4,
			Proves: "the host's files outside the rootfs are invisible",
			Hints: [...]string{
				"Files of the host outside the rootfs must be out of reach from inside, by any path.",
				"Use pivot_root(2), not chroot(2), and detach the old root afterwards: unix.Unmount(\".\", unix.MNT_DETACH).",
				"chroot only changes where path lookups start: the host's mounts are all still there, and a process with CAP_SYS_CHROOT can climb back out.",
			},
			Mutants: []Mutant{
				{"root.host_hidden", 4, "never pivots into the rootfs",
					[]Edit{dropCall("pivotRoot(cfg.rootfs)"), dropCall("detachOldRoot()")}},
				{"root.host_hidden", 4, "calls chroot instead of pivot_root: a process with CAP_SYS_CHROOT climbs back out",
					[]Edit{
						{`if err := unix.PivotRoot(".", "."); err != nil {`, `if err := unix.Chroot("."); err != nil {`, ""},
						{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
					}},
				{"root.host_hidden", 4, "pivots into an oldrootfs directory and leaves the old root mounted there, as the article does",
					[]Edit{
						{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
						{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
					}},
				{"root.host_hidden", 4, "pivots into an oldrootfs directory, leaves the old root mounted there and never mounts /proc, as the article does",
					[]Edit{
						{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
						{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
						dropCall("mountProc()"),
					}},
			},
			Run: checkHostHidden,
		},
		{
			ID: "root.oldroot_unmounted", Step: 4,
			Proves: "the old root (the host's tree) is no longer mounted",
			Hints: [...]string{
				"After the root switch, the container's mount table must not hold the host's old root or any host mount under it.",
				"After pivot_root(\".\", \".\"), the old root is stacked on \".\": unix.Unmount(\".\", unix.MNT_DETACH), then chdir(\"/\").",
				"The article pivots into rootfs/oldrootfs and never unmounts it: `ls /oldrootfs` inside is the host's whole file system.",
			},
			Mutants: []Mutant{
				{"root.oldroot_unmounted", 4, "leaves the old root mounted after pivot_root",
					[]Edit{{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""}}},
			},
			Run: checkOldRootUnmounted,
		},
		{
			ID: "root.oldroot_removed", Step: 4,
			Proves: "no old-root directory is left in the rootfs",
			Hints: [...]string{
				"After the run, the rootfs must hold nothing it did not have before: no directory for the old root.",
				"pivot_root(\".\", \".\") needs no put_old directory at all; if you made one, unmount it (MNT_DETACH) and os.Remove it.",
				"The article creates rootfs/oldrootfs and leaves it behind, and two containers sharing the rootfs race on it.",
			},
			Mutants: []Mutant{
				{"root.oldroot_removed", 4, "pivots into an oldrootfs directory and leaves it there, as the article does",
					[]Edit{
						{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
						{`unix.Unmount(".", unix.MNT_DETACH)`, `unix.Unmount("/oldrootfs", unix.MNT_DETACH)`, ""},
					}},
			},
			Run: checkOldRootRemoved,
		},
		{
			ID: "mnt.minimal", Step: 4,
			Proves: "the container's mount table is small: /, a fresh /proc and /dev",
			Hints: [...]string{
				"Inside, the mount table should be short: the new /, a fresh /proc and a /dev. What else is still there, and in which order were things mounted?",
				"After the root switch and detaching the old root: mount proc on /proc and a tmpfs on /dev (create the directories if the rootfs lacks them).",
				"Mounting /proc before pivot_root puts it in the old root, which is then detached with it.",
			},
			Mutants: []Mutant{
				{"mnt.minimal", 4, "does not mount /proc in the new root",
					[]Edit{dropCall("mountProc()")}},
			},
			Run: checkMountsMinimal,
		},
		{
			ID: "dev.null", Step: 4,
			Proves: "/dev/null is a usable null device",
			Hints: [...]string{
				"/dev/null inside must be the null device and accept writes: shells and Go programs open it.",
				"Mount a tmpfs on /dev, unix.Mknod(\"/dev/null\", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))), then chmod it to 0666.",
				"mknod applies the umask, giving crw-r--r--: chmod after. And a regular file called /dev/null fills up instead of discarding.",
			},
			Mutants: []Mutant{
				{"dev.null", 4, "creates no device nodes in /dev",
					[]Edit{dropCall("makeDevices()")}},
			},
			Run: checkDevNull,
		},
		{
			ID: "rootfs.missing", Step: 4,
			Proves: "a missing rootfs exits 125 with one line naming it",
			Hints: [...]string{
				"With a --rootfs that does not exist, stepbox must say so in one line naming it and exit 125, before it creates anything.",
				"os.Stat the rootfs in the parent before starting the child; on fs.ErrNotExist print one line and exit 125.",
				"Found only in the child, the failure arrives as an obscure mount or chdir error, after the namespaces were made; the article panics.",
			},
			Mutants: []Mutant{
				{"rootfs.missing", 4, "panics when the rootfs is missing",
					[]Edit{{"if errors.Is(err, fs.ErrNotExist) {", "if errors.Is(err, fs.ErrNotExist) {\n\t\tpanic(err)", ""}}},
			},
			Run: checkRootfsMissing,
		},
	},
}

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
