package bench

import (
	"os/exec"
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
