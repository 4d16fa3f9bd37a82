package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// sweepRuntimeState force-deletes any runc or crun container this run
// left (a run that was killed by the timeout, say): "run" in the
// foreground deletes its container on exit, so normally there is none.
func sweepRuntimeState(rows []*Row, timeout time.Duration) {
	prefix := "stepbox-bench-" + strconv.Itoa(pid) + "-"
	for _, r := range rows {
		if r.cleanup == nil || r.skipped() {
			continue
		}
		bin, err := exec.LookPath(r.Name)
		if err != nil {
			continue
		}
		out, err := exec.Command(bin, "list", "-q").Output()
		if err != nil {
			continue
		}
		for _, id := range strings.Fields(string(out)) {
			if strings.HasPrefix(id, prefix) {
				r.cleanup(id)
			}
		}
	}
}

// defaultStateDir is where the steps keep their layers from step 08 on
// (their --state-dir's default), which the bench's runs of them use.
const defaultStateDir = "/var/lib/stepbox"

// notThere says whether path does not exist yet.
func notThere(path string) bool {
	_, err := os.Lstat(path)
	return os.IsNotExist(err)
}

// removeEmptyState removes the state directory the bench's runs created,
// with the empty directories the steps make in it: each run removes its
// own container, so nothing else should be there. os.Remove takes only
// an empty directory, so anything found in it stays, as does the rest.
func removeEmptyState(dir string) {
	for _, sub := range []string{"containers", "images"} {
		_ = os.Remove(filepath.Join(dir, sub))
	}
	_ = os.Remove(dir)
}
