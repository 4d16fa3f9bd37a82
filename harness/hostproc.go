package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/stepbox/stepbox/harness/probe"
)

// hostProcess is a probe's process as the harness sees it from the host:
// its PID and its parent's, in the harness's own PID namespace.
type hostProcess struct {
	pid, ppid int
	err       error
}

// findOnHost finds the paused probe that wrote r: the process in r's PID
// namespace whose innermost PID (the last NSpid field) is r's own PID.
func findOnHost(r *probe.Report) hostProcess {
	if r == nil { // Hold gets nil when the first line out was not the report
		return hostProcess{err: fmt.Errorf("no probe report on the first line of stdout")}
	}
	ns := r.Namespaces["pid"]
	if ns == "" {
		return hostProcess{err: fmt.Errorf("the probe could not read /proc/self/ns/pid inside: is /proc mounted?")}
	}
	for _, pid := range procsInNamespace("pid", ns) {
		nspid, ppid, err := statusPIDs(pid)
		if err == nil && len(nspid) > 0 && nspid[len(nspid)-1] == r.PID {
			return hostProcess{pid: pid, ppid: ppid}
		}
	}
	return hostProcess{err: fmt.Errorf("no process in %s with PID %d inside", ns, r.PID)}
}

// statusPIDs reads a process's NSpid (its PID in each namespace, the
// outermost first) and PPid from /proc/PID/status.
func statusPIDs(pid int) (nspid []int, ppid int, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "NSpid:":
			for _, v := range f[1:] {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, 0, fmt.Errorf("/proc/%d/status: NSpid %q", pid, line)
				}
				nspid = append(nspid, n)
			}
		case "PPid:":
			ppid, _ = strconv.Atoi(f[1])
		}
	}
	return nspid, ppid, nil
}
