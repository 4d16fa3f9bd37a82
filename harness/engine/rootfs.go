package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness/fsutil"
)

// BusyboxEnv overrides where the static busybox is looked for.
const BusyboxEnv = "STEPBOX_BUSYBOX"

const busyboxRemedy = "install it with: sudo apt-get install busybox-static"

// FindBusybox returns the path of a statically linked busybox on the host.
// Debian's plain "busybox" package is dynamically linked and cannot run in
// a root filesystem without a libc, so a dynamic one is refused.
func FindBusybox() (string, error) {
	candidates := []string{"/bin/busybox", "/usr/bin/busybox", "/usr/local/bin/busybox"}
	if p := os.Getenv(BusyboxEnv); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		static, err := fsutil.IsStatic(p)
		if err != nil {
			return "", fmt.Errorf("busybox %s: %w", p, err)
		}
		if !static {
			return "", fmt.Errorf("busybox %s is dynamically linked: %s", p, busyboxRemedy)
		}
		return p, nil
	}
	return "", fmt.Errorf("no busybox found (looked in %s): %s", strings.Join(candidates, ", "), busyboxRemedy)
}

// MakeRootfs writes a small root filesystem into dir (which must not exist):
// busybox with a link for each applet, the probe at /probe, and the empty
// directories a container mounts over.
func MakeRootfs(dir, busybox, probe string) error {
	if _, err := os.Lstat(dir); err == nil {
		return fmt.Errorf("%s already exists", dir)
	}
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "dev", "sys", "root", "run", "var"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(dir, "tmp"), 0o1777); err != nil {
		return err
	}
	if err := fsutil.CopyFile(busybox, filepath.Join(dir, "bin/busybox"), 0o755); err != nil {
		return err
	}
	if err := fsutil.CopyFile(probe, filepath.Join(dir, "probe"), 0o755); err != nil {
		return err
	}
	if err := linkApplets(dir, busybox); err != nil {
		return err
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":      "root:x:0:\nnogroup:x:65534:\n",
		"etc/hostname":   "container\n",
		"etc/os-release": "NAME=\"stepbox busybox rootfs\"\nID=stepbox\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// linkApplets makes /bin/sh, /bin/ls, ... symbolic links to /bin/busybox.
func linkApplets(dir, busybox string) error {
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", busybox, err)
	}
	for _, applet := range strings.Fields(string(out)) {
		link := filepath.Join(dir, applet)
		if applet == "bin/busybox" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/bin/busybox", link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// BaseRootfs returns the cached rootfs for this busybox and probe, making
// it on first use. Tests never run in it: they run in a CopyRootfs.
func BaseRootfs() (string, error) {
	busybox, err := FindBusybox()
	if err != nil {
		return "", err
	}
	probe, err := BuildProbe()
	if err != nil {
		return "", err
	}
	key, err := hashFiles(busybox, probe)
	if err != nil {
		return "", err
	}
	cache, err := cacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "rootfs-"+key[:16])
	if _, err := os.Stat(filepath.Join(dir, "probe")); err == nil {
		return dir, nil
	}
	tmp, err := os.MkdirTemp(cache, "rootfs-building-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := MakeRootfs(filepath.Join(tmp, "rootfs"), busybox, probe); err != nil {
		return "", fmt.Errorf("making the rootfs: %w", err)
	}
	// Another process may have won the race; either copy is as good.
	if err := os.Rename(filepath.Join(tmp, "rootfs"), dir); err != nil {
		if _, statErr := os.Stat(filepath.Join(dir, "probe")); statErr != nil {
			return "", err
		}
	}
	return dir, nil
}

// cacheDir is $STEPBOX_CACHE, or stepbox in the user's cache directory.
func cacheDir() (string, error) {
	dir := os.Getenv("STEPBOX_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "stepbox")
	}
	return dir, os.MkdirAll(dir, 0o755)
}

func hashFiles(paths ...string) (string, error) {
	h := sha256.New()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// CopyTree copies a directory tree, keeping modes and symbolic links.
func CopyTree(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		switch mode := info.Mode(); {
		case mode.IsDir():
			if err := os.Mkdir(target, mode.Perm()); err != nil {
				return err
			}
			return os.Chmod(target, mode.Perm()|mode&os.ModeSticky)
		case mode&os.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case mode.IsRegular():
			return fsutil.CopyFile(path, target, mode.Perm())
		default:
			return fmt.Errorf("%s: cannot copy a %v", path, mode.Type())
		}
	})
}
