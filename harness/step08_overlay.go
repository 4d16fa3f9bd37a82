package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 08: overlay: a read-only image under a writable layer per container.
var step08 = Step{
	N: 8,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "--rootfs is now the image, never written to: accept --state-dir DIR (default /var/lib/stepbox), where each container's writable layer lives, --rm (default true; --rm=false keeps the layer) and --image NAME, an image from the store."},
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "two new subcommands: `import [--state-dir DIR] FILE NAME` unpacks a tarball into the image store, safely; `layers [--state-dir DIR]` lists the kept layers, one line each starting with the container's id."},
		{Anchor: "cmd := exec.Command(\"/proc/self/exe\", childArgs(cfg)...)",
			Text: "the container's root is a copy-on-write overlay: the image below, a writable layer of this container's own above, on the host's disk under the state dir. Writes, deletions and renames inside must never reach the image, nor another container. The layer goes when the container ends, unless kept. Root in the container writes, chmods and deletes any file of the image, as in docker: the image is the overlay's lower layer through an idmapped mount of the container's user namespace (which exists only once the child does), and what root creates is owned on the host by its mapped id; a kernel that cannot idmap gets one warning line and the image read-only to root, as before. When the kernel refuses the layer's directory, say which and what to do, in one line, exit 125. (An ordinary user gets the image read-only, and is told so.)"},
		{Anchor: "if err := bindMountRootfs(cfg.rootfs); err != nil {",
			Text: "the root to pivot into is the overlay the parent prepared once this child's user namespace existed, mounted in this mount namespace only."},
	},
	Checks: []Check{
		{
			ID: "overlay.image_unchanged", Step: 8,
			Proves: "a container writes, deletes and renames files of the image, sees its changes, and the image's checksum is unchanged",
			Hints: [...]string{
				"The container must be able to write, delete and rename the image's files, yet the image directory on the host must not change at all. Where do the container's writes land?",
				"Mount an overlay (fsopen(\"overlay\"), fsconfig lowerdir=IMAGE, upperdir=STATE/containers/ID/upper, workdir=STATE/containers/ID/work, fsmount) and attach it with move_mount as the directory you pivot into, instead of bind-mounting the image.",
				"Mounted by the child inside its user namespace, the overlay fails every copy-up of a file of the host's root (a copy keeps its owner, an id the namespace does not map): create it in the parent, as root, and pass the mount fd to the child.",
			},
			Mutants: []Mutant{
				{"overlay.image_unchanged", 8, "bind-mounts the image itself, writable, as step 07 did",
					[]Edit{{"return l.merged, l, ovl, nil", "_ = l.remove()\n\treturn cfg.rootfs, nil, nil, nil", ""},
						{"unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep", "unix.MS_BIND|unix.MS_REMOUNT|keep", "overlay.go"}}},
			},
			Run: checkImageUnchanged,
		},
		{
			ID: "overlay.root_writes", Step: 8,
			Proves: "root in the container writes /etc/motd, chmods /etc/passwd and removes /bin/ls, files of the host's root, and the image's checksum is unchanged (where the kernel cannot idmap the image, one line says so)",
			Hints: [...]string{
				"Root in the container must be able to change any file of the image, as in docker, and the image must still not change. Who owns the image's files, as the container's user namespace sees them?",
				"Make the lower layer an idmapped mount: open_tree(IMAGE, OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP, userns_fd = the child's /proc/PID/ns/user), move_mount onto IMAGE in a mount namespace of the parent's own (unshare(CLONE_NEWNS) on a locked thread), then fsconfig lowerdir=IMAGE there; the child exists first, so send it the overlay after (SCM_RIGHTS).",
				"Without the idmap the image's files belong to the host's root, an id the namespace does not map: inside they show as owned by 65534, and root gets `Permission denied` even on /etc/motd, since its capabilities count only over mapped ids. Chowning or chmodding the image on the host would \"fix\" it by changing the image.",
			},
			Mutants: []Mutant{
				{"overlay.root_writes", 8, "never gives the lower layer an idmap",
					[]Edit{{"Attr_set: unix.MOUNT_ATTR_IDMAP,", "Attr_set: 0,", "overlay.go"}}},
			},
			Run: checkRootWrites,
		},
		{
			ID: "overlay.mapped_owner", Step: 8,
			Proves: "files root creates in the container are owned on the host by the ids root is mapped to, never by the host's root",
			Hints: [...]string{
				"A file the container's root creates must belong, on the host, to the ids root is mapped to (--uid-map 0:200000:65536 makes it 200000), never to the host's root. Which layer does the idmap belong on?",
				"Idmap the lower layer (the image) only; the upper directory stays a plain directory, chowned to the owner the image's root shows through the idmap (the mapped root), so overlayfs writes the container's ids to the host's disk as they are.",
				"An idmap on the layer's directory (upper and work) instead of the image: the overlay's creator, the host's root, has no id in the container's map, so overlayfs cannot make its work directory through it and mounts read-only (`Read-only file system` inside; dmesg: `failed to create directory .../work/work (errno: 75)`). Written through such a map, files would land on the host's disk as the host's root's.",
			},
			Mutants: []Mutant{
				{"overlay.mapped_owner", 8, "idmaps the container's layer (upper and work) instead of the image",
					[]Edit{{"idmapErr = idmapLayer(image, int(userns.Fd()))", "idmapErr = idmapLayer(l.dir, int(userns.Fd()))", "overlay.go"},
						{"if err := os.Chown(l.upper, int(st.Uid), int(st.Gid)); err != nil {", "if err := error(nil); err != nil {", "overlay.go"}}},
			},
			Run: checkMappedOwner,
		},
		{
			ID: "overlay.isolated", Step: 8,
			Proves: "two containers from one image at once do not see each other's writes or deletions",
			Hints: [...]string{
				"Two containers started from one image at the same time must each see only their own changes. What do they share besides the image?",
				"Give every container its own directory under STATE/containers, named by a unique id (random hex), holding its upper, work and merged directories; os.Mkdir, not MkdirAll, so a clash fails instead of sharing.",
				"One fixed upper directory for all containers turns the copy-on-write layer into a shared disk: a file written in one container appears in the other, and overlayfs warns that the work directory is in use.",
			},
			Mutants: []Mutant{
				{"overlay.isolated", 8, "gives every container the same layer directory",
					[]Edit{{"rand.Uint64()>>16)", "rand.Uint64()*0)", "layer.go"},
						{"throwaway: throwaway}", "throwaway: false}", "layer.go"},
						{"if err := os.Mkdir(l.dir, 0o711); err != nil {", "if err := os.MkdirAll(l.dir, 0o711); err != nil {", "layer.go"},
						{"if err := os.Mkdir(d, 0o755); err != nil {", "if err := os.MkdirAll(d, 0o755); err != nil {", "layer.go"}}},
			},
			Run: checkIsolated,
		},
		{
			ID: "overlay.layer_removed", Step: 8,
			Proves: "the container's layer is gone after it exits with --rm (the default); with --rm=false it is kept, holds its writes, and `layers` lists it",
			Hints: [...]string{
				"After the container exits its writes must go with it, unless --rm=false asked to keep them; kept layers must show in `stepbox layers`.",
				"After cmd.Wait, os.RemoveAll(STATE/containers/ID) in a defer (also when setup failed), skipped for --rm=false; `layers` reads STATE/containers and prints one line per ID.",
				"The overlay mount lives in the container's mount namespace, which the kernel tears down with its last process: there is nothing to unmount on the host, only the directories to delete, and forgetting them fills the disk one container at a time.",
			},
			Mutants: []Mutant{
				{"overlay.layer_removed", 8, "never removes the container's layer",
					[]Edit{{"if removeErr := l.remove(); removeErr != nil && err == nil {", "if removeErr := error(nil); removeErr != nil && err == nil {", ""}}},
			},
			Run: checkLayerRemoved,
		},
		{
			ID: "overlay.bad_upper", Step: 8,
			Proves: "overlayfs refusing the upper directory gives exit 125 and one line naming the overlay, the directory and --state-dir",
			Hints: [...]string{
				"When the kernel refuses the overlay, the learner needs to know which directory is wrong and what to do: one line, exit 125.",
				"fsconfig fails with EINVAL; read(2) on the fsopen fd returns the kernel's reason (\"overlay: filesystem on ... not supported as upperdir\"). Wrap both with the upper directory and \"pass --state-dir DIR\".",
				"With mount(2) the reason goes only to dmesg and the runtime prints a bare \"invalid argument\" (or \"too many levels of symbolic links\"): upper and work must be on a local filesystem such as ext4, xfs, btrfs or tmpfs, never on an overlay, NFS or FUSE.",
			},
			Mutants: []Mutant{
				{"overlay.bad_upper", 8, "prints the kernel's bare error when the overlay is refused",
					[]Edit{{"msg := fmt.Sprintf(\"cannot mount the overlay", "return err\n\tmsg := fmt.Sprintf(\"cannot mount the overlay", "overlay.go"}}},
			},
			Run: checkBadUpper,
		},
	},
}

// Step 08: the rootfs is a read-only image under a writable layer of
// each container's own, mounted with overlayfs. From step 08 on every run
// gets --state-dir: the Env's own state directory in its scratch space,
// so no check touches /var/lib/stepbox.

// addData gives an image a directory /data that anyone may change, with
// three files: the container's root, unprivileged on the host from step
// 06, may then write, delete and rename files of the image.
func addData(rootfs string) error {
	dir := filepath.Join(rootfs, "data")
	if err := os.Mkdir(dir, 0o777); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		return err
	}
	for _, name := range []string{"a", "b", "c"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("orig\n"), 0o666); err != nil {
			return err
		}
		if err := os.Chmod(filepath.Join(dir, name), 0o666); err != nil {
			return err
		}
	}
	return nil
}

// treeSum is a checksum of a directory tree: every entry's path, type,
// mode, owner, size, content or link target, and extended attributes
// (overlayfs marks its upper layers with trusted.overlay.* ones).
func treeSum(dir string) string {
	h := sha256.New()
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Fprintf(h, "%s unreadable %v\n", path, err)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st := info.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(dir, path)
		fmt.Fprintf(h, "%s %v %d:%d %d", rel, info.Mode(), st.Uid, st.Gid, info.Size())
		switch {
		case info.Mode().IsRegular():
			data, _ := os.ReadFile(path)
			fmt.Fprintf(h, " %x", sha256.Sum256(data))
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(path)
			fmt.Fprintf(h, " -> %s", target)
		}
		buf := make([]byte, 4096)
		if n, err := unix.Llistxattr(path, buf); err == nil && n > 0 {
			fmt.Fprintf(h, " xattrs %q", buf[:n])
		}
		fmt.Fprintln(h)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// changeScript writes, deletes and renames files of the image, then
// checks inside that each change took.
const changeScript = `echo x >> /data/a && rm /data/b && mv /data/c /data/d && echo new > /data/e && mkdir /data/dir &&
test "$(cat /data/a)" = "$(printf 'orig\nx')" && test ! -e /data/b && test ! -e /data/c && test -f /data/d && test -d /data/dir`

func checkImageUnchanged(e *Env) Outcome {
	return changeKeepsImage(e, changeScript, addData,
		exitedZero("the container to write, delete and rename files of the image, and see its changes"),
		"the image's checksum unchanged after the container wrote, deleted and renamed its files", "data")
}

// rootScript changes files of the image that belong to the host's root,
// then checks inside that each change took.
const rootScript = `echo hi > /etc/motd && chmod 600 /etc/passwd && rm /bin/ls && echo new > /new &&
test "$(cat /etc/motd)" = hi && test ! -e /bin/ls && test -f /new`

// checkRootWrites: root writes anywhere, and the image does not change.
// Where the harness itself cannot idmap the image (tmpfs before Linux
// 6.3, as in the QEMU guest), the runtime must say so in one line and
// run as before, the image still unchanged.
func checkRootWrites(e *Env) Outcome {
	var cannot string
	prepare := func(rootfs string) error { cannot = idmapUnsupported(rootfs); return nil }
	ran := func(res *engine.Result) Outcome {
		if cannot == "" {
			return exitedZero("root in the container to write /etc/motd, chmod /etc/passwd, remove /bin/ls and create /new")(res)
		}
		said := 0 // lines that mention the idmap
		for _, line := range strings.Split(strings.ToLower(res.Stderr), "\n") {
			if strings.Contains(line, "idmap") {
				said++
			}
		}
		if said != 1 || hasPanic(res.Stderr) {
			return fail(fmt.Sprintf("one line saying the image is not idmapped (this kernel cannot idmap it: %s)", cannot), "%s", res.Describe())
		}
		return pass()
	}
	return changeKeepsImage(e, rootScript, prepare, ran,
		"the image's checksum unchanged after root wrote /etc/motd and removed /bin/ls", "etc")
}

// exitedZero judges a run that must succeed.
func exitedZero(expected string) func(*engine.Result) Outcome {
	return func(res *engine.Result) Outcome {
		if res.Exit != 0 {
			return fail(expected, "%s", res.Describe())
		}
		return pass()
	}
}

// changeKeepsImage runs script, which changes the image and checks
// inside that each change took, on a rootfs that prepare made ready;
// ran judges the run, and then the image's checksum on the host must be
// the one it had before. dir is the image's directory to list when it
// changed.
func changeKeepsImage(e *Env, script string, prepare func(rootfs string) error, ran func(*engine.Result) Outcome, same, dir string) Outcome {
	var before string
	res, err := e.Run(engine.Invocation{
		Flags: e.RunFlags(),
		Cmd:   []string{"/bin/sh", "-c", script},
		Prepare: func(rootfs string) error {
			if err := prepare(rootfs); err != nil {
				return err
			}
			before = treeSum(rootfs)
			return nil
		},
	})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if out := ran(res); !out.Pass {
		return out
	}
	if after := treeSum(res.Rootfs); after != before {
		return fail(same, "it changed: the container wrote to the image itself (/%s now holds %s)", dir, engine.ShortList(engine.DirNames(filepath.Join(res.Rootfs, dir)), 6))
	}
	return pass()
}

// idmapUnsupported says why this kernel cannot give the overlay an
// idmapped mount of dir as its lower layer, or "" when it can. The
// harness tries it itself: a user namespace held by a process started
// for the purpose (the rootfs's busybox, sleeping), and a clone of
// dir's mount given that namespace as its idmap, never attached.
func idmapUnsupported(dir string) string {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	var major, minor int
	if _, err := fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor); err == nil && major*1000+minor < 5019 {
		return "overlayfs takes idmapped layers from Linux 5.19"
	}
	holder := exec.Command(filepath.Join(dir, "bin", "busybox"), "sleep", "30")
	holder.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  unix.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: mapUID, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: mapGID, Size: 1}},
	}
	if err := holder.Start(); err != nil {
		return fmt.Sprintf("no user namespace to idmap with: %v", err)
	}
	defer func() { _ = holder.Process.Kill(); _ = holder.Wait() }()
	userns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid))
	if err != nil {
		return fmt.Sprintf("no user namespace to idmap with: %v", err)
	}
	defer userns.Close()
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Sprintf("open_tree: %v", err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		var st unix.Statfs_t
		_ = unix.Statfs(dir, &st)
		return fmt.Sprintf("mount_setattr(MOUNT_ATTR_IDMAP) on its filesystem (magic %#x) fails: %v", st.Type, err)
	}
	return ""
}

// checkMappedOwner keeps a layer (--rm=false) after root created files
// in it, and reads their owners on the host, in the layer's upper
// directory.
func checkMappedOwner(e *Env) Outcome {
	before := engine.Layers(e.StateDir())
	res, err := e.Run(engine.Invocation{Flags: e.mapFlags("--rm=false"), Cmd: []string{"/bin/sh", "-c", "echo new > /tmp/new && mkdir /tmp/newdir"}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	kept := engine.MultisetMinus(engine.Layers(e.StateDir()), before)
	for _, id := range kept {
		defer os.RemoveAll(filepath.Join(e.StateDir(), "containers", id))
	}
	if res.Exit != 0 || len(kept) != 1 {
		return fail("root in the container to create /tmp/new and /tmp/newdir, and with --rm=false one layer kept", "%d layers %v after %s", len(kept), kept, res.Describe())
	}
	want := fmt.Sprintf("%d:%d", mapUID, mapGID)
	for _, name := range []string{"tmp/new", "tmp/newdir"} {
		path := filepath.Join(e.StateDir(), "containers", kept[0], "upper", name)
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return fail("/"+name+" in the kept layer's upper directory", "%v", err)
		}
		if got := fmt.Sprintf("%d:%d", st.Uid, st.Gid); got != want {
			return fail(fmt.Sprintf("/%s, created by root inside, owned on the host by %s (the mapped root)", name, want),
				"owned by %s on the host (%s)", got, path)
		}
	}
	return pass()
}

// checkIsolated runs two containers from one image at once: A changes
// /data and waits; meanwhile B must see the image as it was, and A must
// see its own changes.
func checkIsolated(e *Env) Outcome {
	image, err := os.MkdirTemp(e.Scratch(), "image-")
	if err != nil {
		return fail("an image to share", "%v", err)
	}
	defer os.RemoveAll(image)
	image = filepath.Join(image, "rootfs")
	if err := e.CopyRootfs(image); err != nil {
		return fail("an image to share", "%v", err)
	}
	if err := addData(image); err != nil {
		return fail("an image to share", "%v", err)
	}
	looks := []string{"--read", "/data/a", "--look", "/data/b", "--look", "/data/fromA"}
	flags := e.RunFlags("--rootfs", image)
	out := fail("the first container to report", "it never did")
	a, err := e.Run(engine.Invocation{
		Flags: flags,
		Cmd: []string{"/bin/sh", "-c", "echo A > /data/a && rm /data/b && echo A > /data/fromA && exec /probe report " +
			strings.Join(looks, " ") + " --pause"},
		Hold: func(ra *probe.Report) {
			if ra.Files["/data/a"] != "A\n" || ra.Exists["/data/b"] || !ra.Exists["/data/fromA"] {
				out = fail("the first container to see its own changes (a reads A, b deleted, fromA created)",
					"a %q, b exists %v, fromA exists %v", ra.Files["/data/a"], ra.Exists["/data/b"], ra.Exists["/data/fromA"])
				return
			}
			b, err := e.Run(engine.Invocation{Flags: flags, Probe: append([]string{"report"}, looks...)})
			if err != nil {
				out = fail("the second container to run", "a harness error: %v", err)
				return
			}
			rb := b.Report
			if rb == nil {
				out = fail("a second container from the same image while the first runs", "%s", b.Describe())
				return
			}
			if rb.Files["/data/a"] != "orig\n" || !rb.Exists["/data/b"] || rb.Exists["/data/fromA"] {
				out = fail("the second container to see the image unchanged (a reads orig, b there, no fromA)",
					"a %q, b exists %v, fromA exists %v", rb.Files["/data/a"], rb.Exists["/data/b"], rb.Exists["/data/fromA"])
				return
			}
			out = pass()
		},
	})
	if err != nil {
		return fail("the first container to run", "a harness error: %v", err)
	}
	if a.Report == nil {
		return fail("the first container's report", "none: %s", a.Describe())
	}
	return out
}

// checkLayerRemoved: with --rm (the default) the container's layer is
// gone after it exits; with --rm=false it is kept, holds the container's
// write, and "layers" lists it.
func checkLayerRemoved(e *Env) Outcome {
	const file = "/tmp/stepbox-layer"
	write := []string{"/bin/sh", "-c", "echo kept > " + file}
	before := engine.Layers(e.StateDir())
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Cmd: write})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Exit != 0 {
		return fail("the container to write "+file, "%s", res.Describe())
	}
	if left := engine.MultisetMinus(engine.Layers(e.StateDir()), before); len(left) > 0 {
		return fail("no layer left in the state dir after a container run with --rm (the default)", "layers %v in %s/containers", left, e.StateDir())
	}
	res, err = e.Run(engine.Invocation{Flags: e.RunFlags("--rm=false"), Cmd: write})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	kept := engine.MultisetMinus(engine.Layers(e.StateDir()), before)
	for _, id := range kept {
		defer os.RemoveAll(filepath.Join(e.StateDir(), "containers", id))
	}
	if res.Exit != 0 || len(kept) != 1 {
		return fail("with --rm=false, one layer kept in the state dir", "%d layers %v after %s", len(kept), kept, res.Describe())
	}
	if data, err := os.ReadFile(filepath.Join(e.StateDir(), "containers", kept[0], "upper", file)); err != nil || string(data) != "kept\n" {
		return fail(fmt.Sprintf("the kept layer's upper directory to hold the container's %s", file), "%v", err)
	}
	list, err := e.Run(engine.Invocation{Argv: []string{"layers", "--state-dir", e.StateDir()}})
	if err != nil {
		return fail("`layers` to run", "a harness error: %v", err)
	}
	if list.Exit != 0 || !strings.Contains(list.Stdout, kept[0]) {
		return fail("`layers` to list the kept layer "+kept[0], "%s, stdout %q", list.Describe(), engine.FirstLines(list.Stdout, 3))
	}
	return pass()
}

// checkBadUpper gives a state directory on an overlay, which overlayfs
// refuses as an upper layer: the runtime must exit 125 with one line
// naming the overlay, the directory and the way out, and leave nothing.
func checkBadUpper(e *Env) Outcome {
	dir, err := os.MkdirTemp(e.Scratch(), "unsuitable-")
	if err != nil {
		return fail("a directory to mount an overlay on", "%v", err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o711); err != nil {
		return fail("a directory to mount an overlay on", "%v", err)
	}
	state := filepath.Join(dir, "merged", "state")
	// --rm=false: a kept layer is on the state directory's disk; a
	// throwaway one may be elsewhere (ours is on a tmpfs of its own).
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--state-dir", state, "--rm=false"), Cmd: []string{"/bin/true"}, OverlayOn: dir})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	msg := strings.TrimSpace(res.Stderr)
	want := "exit 125 with one line naming the overlay, the state directory " + state + " and --state-dir as the way out"
	if res.Exit != 125 || strings.Contains(msg, "\n") || hasPanic(res.Stderr) ||
		!strings.Contains(strings.ToLower(msg), "overlay") || !strings.Contains(msg, state) || !strings.Contains(msg, "--state-dir") {
		return fail(want, "%s", res.Describe())
	}
	if left := engine.Layers(filepath.Join(dir, "upper", "state")); len(left) > 0 {
		return fail("no layer left behind after the refused overlay", "layers %v", left)
	}
	return pass()
}
