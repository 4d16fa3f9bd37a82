package harness

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 10: the container's root cannot reach the host's kernel. The
// checks read the capability sets, no_new_privs and the seccomp mode
// from the probe's /proc/self/status, and run the probe's attacks
// (harness/attacks.go); several run with --cap-add ALL, so that what
// they see is the defence they name and not a missing capability.

// defaultCaps is the capability set a container keeps by default:
// Docker's, without MKNOD and AUDIT_WRITE.
var defaultCaps = []int{
	unix.CAP_CHOWN, unix.CAP_DAC_OVERRIDE, unix.CAP_FOWNER, unix.CAP_FSETID, unix.CAP_KILL, unix.CAP_SETGID,
	unix.CAP_SETUID, unix.CAP_SETPCAP, unix.CAP_SETFCAP, unix.CAP_NET_BIND_SERVICE, unix.CAP_NET_RAW, unix.CAP_SYS_CHROOT,
}

func capMask(caps ...int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// capSets reads the five sets of a report, as masks.
func capSets(r *probe.Report) (map[string]uint64, error) {
	sets := map[string]uint64{}
	for _, name := range []string{"CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"} {
		v, err := strconv.ParseUint(r.Caps[name], 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q in /proc/self/status", name, r.Caps[name])
		}
		sets[name] = v
	}
	return sets, nil
}

// wantCaps checks that the four sets are want and the ambient set empty.
func wantCaps(r *probe.Report, want uint64) (string, bool) {
	sets, err := capSets(r)
	if err != nil {
		return err.Error(), false
	}
	got := fmt.Sprintf("bounding %016x, effective %016x, permitted %016x, inheritable %016x, ambient %016x",
		sets["CapBnd"], sets["CapEff"], sets["CapPrm"], sets["CapInh"], sets["CapAmb"])
	ok := sets["CapAmb"] == 0
	for _, name := range []string{"CapBnd", "CapEff", "CapPrm", "CapInh"} {
		ok = ok && sets[name] == want
	}
	return got, ok
}

// reportWith runs the probe with extra run flags and probe arguments.
func (e *Env) reportWith(flags []string, args ...string) (*engine.Result, Outcome) {
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(flags...), Probe: append([]string{"report"}, args...)})
	if err != nil {
		return nil, fail("the probe to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return nil, fail("the probe's report", "none: %s", res.Describe())
	}
	return res, pass()
}

// attacksWithAllCaps runs the attacks with every capability given back,
// so what stops them is not a missing capability.
func (e *Env) attacksWithAllCaps() (*probe.Report, Outcome) {
	res, err := e.RunAttacks("--cap-add", "ALL")
	if err != nil {
		return nil, fail("the probe to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return nil, fail("the probe's report with --cap-add ALL", "none: %s", res.Describe())
	}
	return res.Report, pass()
}

func checkCaps(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	want := capMask(defaultCaps...)
	if got, ok := wantCaps(res.Report, want); !ok {
		return fail(fmt.Sprintf("the bounding, effective, permitted and inheritable sets all %016x (the default list) and no ambient ones", want), "%s", got)
	}
	return pass()
}

func checkCapFlags(e *Env) Outcome {
	cases := []struct {
		flags []string
		want  uint64
	}{
		{[]string{"--cap-drop", "ALL", "--cap-add", "NET_ADMIN"}, capMask(unix.CAP_NET_ADMIN)},
		{[]string{"--cap-drop", "CHOWN,KILL"}, capMask(defaultCaps...) &^ capMask(unix.CAP_CHOWN, unix.CAP_KILL)},
		{[]string{"--cap-add", "sys_ptrace"}, capMask(defaultCaps...) | capMask(unix.CAP_SYS_PTRACE)},
	}
	for _, c := range cases {
		res, out := e.reportWith(c.flags)
		if res == nil {
			return out
		}
		if got, ok := wantCaps(res.Report, c.want); !ok {
			return fail(fmt.Sprintf("with %s, the four sets %016x and no ambient ones", strings.Join(c.flags, " "), c.want), "%s", got)
		}
	}
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--cap-add", "NO_SUCH_CAP"), Cmd: []string{"/bin/true"}})
	if err != nil {
		return fail("the binary to run", "a harness error: %v", err)
	}
	line := strings.TrimSpace(res.Stderr)
	if res.Exit != 2 || strings.Contains(line, "\n") || !strings.Contains(line, "NO_SUCH_CAP") || hasPanic(line) {
		return fail("--cap-add NO_SUCH_CAP to exit 2 with one line naming it", "%s", res.Describe())
	}
	return pass()
}

func checkNoNewPrivs(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if res.Report.NoNewPrivs != "1" {
		return fail("NoNewPrivs: 1 in the command's /proc/self/status", "NoNewPrivs: %q", res.Report.NoNewPrivs)
	}
	return pass()
}

func checkSeccomp(e *Env) Outcome {
	r, out := e.attacksWithAllCaps()
	if r == nil {
		return out
	}
	if r.Seccomp != "2" {
		return fail("Seccomp: 2 (a filter) in the command's /proc/self/status", "Seccomp: %q", r.Seccomp)
	}
	var wrong []string
	for _, a := range Attacks {
		if want, ok := seccompOnly[a.Name]; ok && r.Attacks[a.Name] != want {
			wrong = append(wrong, fmt.Sprintf("%s %s (want %s)", a.Name, r.Attacks[a.Name], want))
		}
	}
	if len(wrong) > 0 {
		return fail("with every capability given back (--cap-add ALL), the filter still refusing mount, unshare, clone's namespace flags, setns, keyctl, reboot, ptrace, perf_event_open (EPERM) and clone3 (ENOSYS)",
			"%s", strings.Join(wrong, ", "))
	}
	return pass()
}

// maskedOnHost are the masked paths the check asks about: those this
// kernel has (the container's /proc shows the same ones).
func maskedOnHost() []string {
	var paths []string
	for _, p := range []string{"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats",
		"/proc/timer_stats", "/proc/interrupts", "/proc/acpi", "/proc/asound", "/proc/scsi"} {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	return paths
}

func checkMasked(e *Env) Outcome {
	paths := maskedOnHost()
	var args []string
	for _, p := range paths {
		args = append(args, "--peek", p)
	}
	res, out := e.reportWith([]string{"--cap-add", "ALL"}, args...)
	if res == nil {
		return out
	}
	var shown []string
	for _, p := range paths {
		if got := res.Report.Peeked[p]; got != "empty" {
			shown = append(shown, p+" "+got)
		}
	}
	if len(shown) > 0 {
		return fail(fmt.Sprintf("each of %s to read empty, even with --cap-add ALL", strings.Join(paths, " ")), "%s", strings.Join(shown, ", "))
	}
	return pass()
}

// readOnlyOnHost are the read-only paths this kernel has.
func readOnlyOnHost() []string {
	var paths []string
	for _, p := range []string{"/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus"} {
		if _, err := os.Stat(p); err == nil {
			paths = append(paths, p)
		}
	}
	return paths
}

func checkReadOnlyPaths(e *Env) Outcome {
	r, out := e.attacksWithAllCaps()
	if r == nil {
		return out
	}
	var writable []string
	for _, p := range readOnlyOnHost() {
		if !mountedReadOnly(r, p) {
			writable = append(writable, p)
		}
	}
	if len(writable) > 0 || r.Attacks["sysctl"] != "EROFS" {
		return fail("a read-only mount on each of "+strings.Join(readOnlyOnHost(), " ")+", and writing a sysctl failing with EROFS even with --cap-add ALL",
			"no read-only mount on %s; writing ip_forward: %s", engine.ShortList(writable, 4), r.Attacks["sysctl"])
	}
	return pass()
}

// mountedReadOnly reports whether the last mount on point is read-only.
func mountedReadOnly(r *probe.Report, point string) bool {
	ro := false
	for _, m := range r.Mounts {
		if m.Point == point {
			ro = strings.HasPrefix(m.MountOptions, "ro")
		}
	}
	return ro
}

func checkReadOnlyRoot(e *Env) Outcome {
	for _, c := range []struct {
		flags []string
		want  string
	}{{nil, "ok"}, {[]string{"--read-only"}, "read-only file system"}} {
		res, out := e.reportWith(c.flags, "--create", "/tmp/stepbox-new")
		if res == nil {
			return out
		}
		if got := res.Report.Created["/tmp/stepbox-new"]; !strings.HasSuffix(got, c.want) {
			return fail(fmt.Sprintf("creating /tmp/stepbox-new with %q to give %q", strings.Join(c.flags, " "), c.want), "%q", got)
		}
	}
	return pass()
}

func checkDevices(e *Env) Outcome {
	r, out := e.attacksWithAllCaps()
	if r == nil {
		return out
	}
	if r.Attacks["image_device"] != "EACCES" || r.Attacks["mknod"] != "EPERM" || r.DevNull != "ok" {
		return fail("a device node the image brings to fail to open (EACCES, the root is nodev) and mknod to fail (EPERM), while /dev/null works, even with --cap-add ALL",
			"opening the image's node: %s; mknod: %s; /dev/null: %s", r.Attacks["image_device"], r.Attacks["mknod"], r.DevNull)
	}
	return pass()
}

func checkAttacks(e *Env) Outcome {
	res, err := e.RunAttacks()
	if err != nil {
		return fail("the probe to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return fail("the probe's report", "none: %s", res.Describe())
	}
	var through []string
	for _, a := range Attacks {
		if got := res.Report.Attacks[a.Name]; !a.blocked(got) {
			through = append(through, fmt.Sprintf("%s %s (want %s)", a.Name, got, strings.Join(a.Blocked, " or ")))
		}
	}
	if len(through) > 0 {
		return fail("every attack stopped", "%s", strings.Join(through, ", "))
	}
	return pass()
}

// ordinaryScript is what a container's everyday programs do: a shell,
// ls, ps, and a small server on loopback that answers a client.
const ordinaryScript = `ls / >/dev/null && ps >/dev/null && exec /probe report --serve 127.0.0.1:7070 --connect 127.0.0.1:7070`

func checkOrdinary(e *Env) Outcome {
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Cmd: []string{"/bin/sh", "-c", ordinaryScript}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Exit != 0 || res.Report == nil || res.Report.Connected["127.0.0.1:7070"] != "ok" {
		connected := ""
		if res.Report != nil {
			connected = ", the client got " + res.Report.Connected["127.0.0.1:7070"]
		}
		return fail("sh, ls, ps and a server on loopback to work", "%s%s", res.Describe(), connected)
	}
	return pass()
}

// checkExecConfined runs the probe's attacks in a process `exec` starts in a
// detached container: it must be as confined as the command.
func checkExecConfined(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detach("echo up && while :; do sleep 0.1; done")
		if !out.Pass {
			return out
		}
		if _, out := s.waitForLog(id, "up"); !out.Pass {
			return out
		}
		res, out := s.life("exec", id, "/probe", "report", "--attacks")
		if !out.Pass {
			return out
		}
		r := engine.ParseReport(res.Stdout)
		if res.Exit != 0 || r == nil {
			return fail("`exec "+id+" /probe report --attacks` to print the probe's report", "%s, stdout %q", res.Describe(), engine.FirstLines(res.Stdout, 3))
		}
		caps, ok := wantCaps(r, capMask(defaultCaps...))
		if !ok || r.NoNewPrivs != "1" || r.Seccomp != "2" || r.Attacks["unshare"] != "EPERM" || r.Attacks["net_admin"] != "EPERM" {
			return fail("the exec'd process as confined as the command: the default capabilities, NoNewPrivs 1, Seccomp 2, unshare and a change to lo refused (EPERM)",
				"%s; NoNewPrivs %q, Seccomp %q, unshare %s, lo's MTU %s", caps, r.NoNewPrivs, r.Seccomp, r.Attacks["unshare"], r.Attacks["net_admin"])
		}
		return pass()
	})
}
