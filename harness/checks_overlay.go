package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

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
	var before string
	res, err := e.Run(engine.Invocation{
		Flags: e.RunFlags(),
		Cmd:   []string{"/bin/sh", "-c", changeScript},
		Prepare: func(rootfs string) error {
			if err := addData(rootfs); err != nil {
				return err
			}
			before = treeSum(rootfs)
			return nil
		},
	})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Exit != 0 {
		return fail("the container to write, delete and rename files of the image, and see its changes", "%s", res.Describe())
	}
	if after := treeSum(res.Rootfs); after != before {
		return fail("the image's checksum unchanged after the container wrote, deleted and renamed its files",
			"it changed: the container wrote to the image itself (/data now holds %s)", engine.ShortList(engine.DirNames(filepath.Join(res.Rootfs, "data")), 6))
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
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--state-dir", state), Cmd: []string{"/bin/true"}, OverlayOn: dir})
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
