package harness

import (
	"cmp"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// shellbox (testdata/shellbox) is steps 01-05 in POSIX sh with util-linux
// or busybox, written from the README's contract alone, its cgroup named
// its own way: proof that the checks judge the contract, not the course's
// Go code. Embedded, so the test binary carries it into the QEMU guest.
//
//go:embed testdata/shellbox
var shellboxFiles embed.FS

// shellboxTools are the programs shellbox runs on the host side: util-linux
// (unshare, mount, pivot_root), hostname, and a few POSIX tools; busybox
// has every one. After pivot_root it uses the rootfs's own umount.
var shellboxTools = []string{"unshare", "mount", "pivot_root", "hostname", "mknod", "mkfifo",
	"mktemp", "nproc", "grep", "rmdir", "rm", "sleep", "dirname", "ln"}

// requireShellboxTools skips, naming what is missing, when shellbox cannot
// run here; under STEPBOX_REQUIRE_PRIVILEGED=1 (CI, the QEMU guest) it
// fails instead, so a machine without util-linux cannot pass by skipping.
func requireShellboxTools(t *testing.T) {
	t.Helper()
	engine.RequirePrivileged(t)
	var missing []string
	if _, err := os.Stat("/bin/sh"); err != nil {
		missing = append(missing, "/bin/sh")
	}
	for _, tool := range shellboxTools {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	problem := fmt.Sprintf("shellbox needs %s on PATH (util-linux or busybox): install util-linux", strings.Join(missing, ", "))
	if os.Getenv(engine.RequirePrivilegedEnv) == "1" {
		t.Fatalf("%s=1 but this test cannot run: %s", engine.RequirePrivilegedEnv, problem)
	}
	t.Skip(problem)
}

// writeShellbox writes shellbox into a new directory, with the edits made
// (each must match exactly once; File defaults to shellbox.sh) and, when
// shell is not "", every script's "#!/bin/sh" line replaced by "#!"+shell.
// It returns the path of the wrapper for step.
func writeShellbox(t *testing.T, step int, shell string, edits []Edit) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	files := map[string]string{}
	entries, err := fs.ReadDir(shellboxFiles, "testdata/shellbox")
	require.NoError(t, err)
	for _, e := range entries {
		data, err := shellboxFiles.ReadFile("testdata/shellbox/" + e.Name())
		require.NoError(t, err)
		files[e.Name()] = string(data)
	}
	for _, e := range edits {
		name := cmp.Or(e.File, "shellbox.sh")
		require.Equal(t, 1, strings.Count(files[name], e.Old), "edit %q must occur once in %s", e.Old, name)
		files[name] = strings.Replace(files[name], e.Old, e.New, 1)
	}
	for name, src := range files {
		if shell != "" {
			src = strings.Replace(src, "#!/bin/sh\n", "#!"+shell+"\n", 1)
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o755))
	}
	wrapper := filepath.Join(dir, fmt.Sprintf("shellbox-%02d", step))
	require.FileExists(t, wrapper)
	return wrapper
}

// TestShellbox: each step's shellbox passes every check of its step (with
// STEPBOX_STEP_CHECKS=own, those its step adds, as a step's test does).
func TestShellbox(t *testing.T) {
	requireShellboxTools(t)
	for step := 1; step <= 5; step++ {
		t.Run(fmt.Sprintf("step%02d", step), func(t *testing.T) {
			checks, err := StepChecks(step, os.Getenv(StepChecksEnv))
			require.NoError(t, err)
			RunChecks(t, writeShellbox(t, step, "", nil), step, checks)
		})
	}
}

// TestShellboxBusybox runs step 05's shellbox (a superset of the others)
// with busybox's sh and applets first on PATH, as in the QEMU guest, whose
// only tools are busybox's. Where /bin/sh is busybox, TestShellbox already
// did.
func TestShellboxBusybox(t *testing.T) {
	requireShellboxTools(t)
	if target, _ := filepath.EvalSymlinks("/bin/sh"); filepath.Base(target) == "busybox" {
		t.Skip("/bin/sh is busybox here: TestShellbox ran shellbox with busybox")
	}
	busybox, err := engine.FindBusybox()
	if err != nil {
		if os.Getenv(engine.RequirePrivilegedEnv) == "1" {
			t.Fatalf("%s=1 but this test cannot run: %v", engine.RequirePrivilegedEnv, err)
		}
		t.Skip(err)
	}
	_, err = engine.BaseRootfs() // built now, while go is the host's
	require.NoError(t, err)
	applets := t.TempDir()
	list, err := exec.Command(busybox, "--list").Output()
	require.NoError(t, err)
	for _, name := range strings.Fields(string(list)) {
		require.NoError(t, os.Symlink(busybox, filepath.Join(applets, name)))
	}
	t.Setenv("PATH", applets+string(os.PathListSeparator)+os.Getenv("PATH"))
	checks, err := StepChecks(5, os.Getenv(StepChecksEnv))
	require.NoError(t, err)
	RunChecks(t, writeShellbox(t, 5, busybox+" sh", nil), 5, checks)
}
