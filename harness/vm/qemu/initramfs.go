package qemu

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness/vm/cpio"
	"github.com/stepbox/stepbox/harness/vm/guest"
)

// Image is what goes into the initramfs.
type Image struct {
	Built    *Built
	Busybox  string   // a static busybox on the host
	Modules  []Module // in load order
	Root     string   // the module root, whose sources are copied in
	Manifest guest.Manifest
}

// WriteInitramfs writes the image as an uncompressed newc cpio archive.
// Uncompressed because under software emulation the kernel's gunzip of
// ~100 MB costs more than qemu copying the bytes in.
func WriteInitramfs(file string, img *Image) error {
	f, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("initramfs: %w", err)
	}
	w := cpio.NewWriter(f)
	err = writeImage(w, img)
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initramfs %s: %w", file, err)
	}
	return nil
}

// writeImage adds every part of the image, in the order the kernel
// unpacks them (parents before children, which the writer ensures).
func writeImage(w *cpio.Writer, img *Image) error {
	if err := writeSkeleton(w); err != nil {
		return err
	}
	if err := addHostFile(w, "init", img.Built.Init, 0o755); err != nil {
		return err
	}
	if err := writeBusybox(w, img.Busybox); err != nil {
		return err
	}
	for _, t := range img.Built.Tests {
		if err := addHostFile(w, guestTestBin(t), t.Bin, 0o755); err != nil {
			return err
		}
	}
	if err := addHostDir(w, guest.PrebuiltDir, img.Built.Prebuilt, 0); err != nil {
		return err
	}
	for _, m := range img.Modules {
		if err := addHostFile(w, path.Join(guest.ModulesDir, m.Name+".ko"), m.Path, 0o644); err != nil {
			return err
		}
	}
	if err := writeSources(w, img.Root); err != nil {
		return err
	}
	data, err := json.MarshalIndent(img.Manifest, "", "  ")
	if err != nil {
		return err
	}
	return w.File(guest.ManifestPath, 0o644, data)
}

// skeletonDirs are the directories of a usual Linux host: the tests may
// take them for granted (the harness's own tests mount over /mnt).
var skeletonDirs = []string{
	"dev", "proc", "sys", "run", "root", "etc", "bin", "sbin", "usr/bin", "usr/sbin", "usr/lib",
	"var/lib", "var/log", "mnt", "media", "opt", "srv", "home",
}

// writeSkeleton adds the directories and device nodes the kernel and the
// init need before anything is mounted: /dev/console is init's stdio.
func writeSkeleton(w *cpio.Writer) error {
	for _, d := range skeletonDirs {
		if err := w.Dir(d, 0o755); err != nil {
			return err
		}
	}
	for _, d := range []string{"tmp", "var/tmp"} {
		if err := w.Dir(d, 0o1777); err != nil {
			return err
		}
	}
	if err := w.CharDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := w.CharDev("dev/null", 0o666, 1, 3); err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd":   "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":    "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname": "stepbox-vm\n",
	}
	for _, name := range []string{"etc/passwd", "etc/group", "etc/hostname"} {
		if err := w.File(name, 0o644, []byte(files[name])); err != nil {
			return err
		}
	}
	return nil
}

// writeBusybox adds busybox at /bin/busybox, where the harness looks.
// Its applet links (/bin/sh, /sbin/ip, ...) are made by the init in the
// guest, by asking busybox: the host may not be able to run a busybox
// built for the guest's architecture.
func writeBusybox(w *cpio.Writer, busybox string) error {
	return addHostFile(w, "bin/busybox", busybox, 0o755)
}

// writeSources adds go.mod, go.sum, and the files under steps/ and
// harness/: the harness finds the module root from go.mod, and some of its
// tests read the steps' main.go.
func writeSources(w *cpio.Writer, root string) error {
	for _, name := range []string{"go.mod", "go.sum"} {
		if err := addHostFile(w, path.Join(guest.SourceDir, name), filepath.Join(root, name), 0o644); err != nil {
			return err
		}
	}
	for _, top := range []string{"steps", "harness"} {
		if err := addHostDir(w, path.Join(guest.SourceDir, top), filepath.Join(root, top), maxSourceFile); err != nil {
			return err
		}
	}
	return nil
}

// maxSourceFile keeps stray large files (a built binary left in a step
// folder, say) out of the image.
const maxSourceFile = 1 << 20

// addHostDir adds the regular files and directories under dir, skipping
// hidden ones and, when maxSize > 0, files larger than that.
func addHostDir(w *cpio.Writer, guestDir, dir string, maxSize int64) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := path.Join(guestDir, filepath.ToSlash(rel))
		if d.IsDir() {
			return w.Dir(target, 0o755)
		}
		info, err := d.Info()
		if err != nil || !info.Mode().IsRegular() {
			return err
		}
		if maxSize > 0 && info.Size() > maxSize {
			return nil
		}
		return addHostFile(w, target, p, uint32(info.Mode().Perm()))
	})
}

// addHostFile adds a file from the host under name.
func addHostFile(w *cpio.Writer, name, src string, perm uint32) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	return w.FileFrom(name, perm, info.Size(), f)
}

// guestTestBin is where a test binary is in the guest.
func guestTestBin(t TestPackage) string {
	return path.Join(guest.TestsDir, filepath.Base(t.Bin))
}
