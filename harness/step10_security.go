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

// Step 10: security: capabilities, no_new_privs, seccomp, masked and read-only paths, devices.
var step10 = Step{
	N: 10,
	Todos: []Todo{
		{Anchor: `flags.StringVar(&cfg.hostname, "hostname"`,
			Text: "accept --cap-add CAP and --cap-drop CAP (repeatable, comma-separated, names like NET_ADMIN or ALL; an unknown name exits 2) and --read-only, and hand them on to the child."},
		{Anchor: "if err := mountProc(cfg.rootfs); err != nil {",
			Text: "device nodes on the container's root (an image may bring its own) must not open; with --read-only the root takes no writes."},
		{Anchor: "if err := pivotRoot(cfg.rootfs); err != nil {",
			Text: "/proc still shows the host (kcore, keys, timer_list, interrupts, ...): those must read empty; /proc/sys, /proc/sysrq-trigger, /proc/irq and /proc/bus must take no writes."},
		{Anchor: "if cfg.init {",
			Text: "before the command runs or this process becomes its init, take away what it does not need: every capability but a small default list, in every set, for good; no gaining privileges through exec; and a seccomp filter that refuses mount, new namespaces, kexec, modules, reboot, keyctl, bpf, perf_event_open, ptrace and the clock, even when capabilities are given back. Ordinary programs must still work, and whatever the init starts, exec's processes too, must be just as confined."},
	},
	Checks: []Check{
		{
			ID: "sec.caps", Step: 10,
			Proves: "the command's bounding, effective, permitted and inheritable sets are the default list, and its ambient set is empty",
			Hints: [...]string{
				"Run `grep Cap /proc/self/status` inside: CapBnd, CapEff, CapPrm and CapInh must all be the default list, CapAmb zero. Which of the five sets does the child never touch?",
				"prctl(PR_CAPBSET_DROP, cap) for every capability up to /proc/sys/kernel/cap_last_cap that is not kept; prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL); then unix.Capset with version 3 and two data words for effective, permitted and inheritable.",
				"The bounding set must go first: dropping from it needs CAP_SETPCAP, which capset may already have taken. And capabilities belong to a thread: lock the OS thread (runtime.LockOSThread) and exec from it, or Go may exec from a thread that still has them all.",
			},
			Mutants: []Mutant{
				{"sec.caps", 10, "forgets to drop the bounding set: no_new_privs keeps exec from giving root every capability back, but the ceiling is gone",
					[]Edit{{"if err := dropBoundingSet(keep); err != nil {", "if err := error(nil); err != nil {", "confine.go"}}},
			},
			Run: checkCaps,
		},
		{
			ID: "sec.cap_flags", Step: 10,
			Proves: "--cap-add and --cap-drop (names or ALL) change the set; an unknown name exits 2 with one line",
			Hints: [...]string{
				"Try `run --cap-drop ALL --cap-add NET_ADMIN ... grep CapEff /proc/self/status`: it must show 0000000000001000. Does the child get the flags the parent parsed?",
				"Parse --cap-add and --cap-drop as repeatable, comma-separated names (NET_ADMIN, cap_net_admin or ALL); compute default minus drops plus adds, and pass both flags on in childArgs.",
				"An unknown name must fail while parsing flags, exit 2 with one line, before anything is created; and an empty value (the child's \"--cap-add=\") must not count as a name.",
			},
			Mutants: []Mutant{
				{"sec.cap_flags", 10, "ignores --cap-add",
					[]Edit{{"} else {\n\t\t\tmask |= 1 << capNumbers[name]", "} else {\n\t\t\t_ = name", "caps.go"}}},
			},
			Run: checkCapFlags,
		},
		{
			ID: "sec.no_new_privs", Step: 10,
			Proves: "the command runs with no_new_privs set",
			Hints: [...]string{
				"`grep NoNewPrivs /proc/self/status` inside must say 1. It is set once, before the seccomp filter, and can never be cleared.",
				"unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), on the thread that will exec.",
				"Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so a runtime that installs it early, before dropping capabilities, works and still forgets the flag: a setuid program could then gain what the container dropped.",
			},
			Mutants: []Mutant{
				{"sec.no_new_privs", 10, "installs the seccomp filter before dropping capabilities, while it still may without no_new_privs, and never sets no_new_privs",
					[]Edit{{"if err := setCaps(keep); err != nil {", "if err := installSeccomp(); err != nil {\n\t\treturn err\n\t}\n\tif err := setCaps(keep); err != nil {", "confine.go"},
						{"if err := setNoNewPrivs(); err != nil {\n\t\treturn err\n\t}\n\treturn installSeccomp()", "return nil", "confine.go"}}},
			},
			Run: checkNoNewPrivs,
		},
		{
			ID: "sec.seccomp", Step: 10,
			Proves: "a seccomp filter refuses mount, unshare, namespace flags of clone, setns, keyctl, reboot, ptrace and perf_event_open, even with every capability (--cap-add ALL)",
			Hints: [...]string{
				"With --cap-add ALL every capability is back, so only the filter can refuse mount, unshare, keyctl or reboot. `grep Seccomp /proc/self/status` must say 2.",
				"Build a []unix.SockFilter: load seccomp_data.arch (offset 4) and kill on a foreign one, load nr (offset 0), one JEQ and RET SECCOMP_RET_ERRNO|EPERM per denied call; for clone, load arg0 (offset 16) and JSET the namespace flags; clone3 returns ENOSYS. Install it with seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC).",
				"A filter on clone alone is not enough: unshare and setns make or join namespaces too, and clone3 hides its flags in memory a filter cannot read, so it must answer ENOSYS for programs to fall back to clone.",
			},
			Mutants: []Mutant{
				{"sec.seccomp", 10, "leaves unshare out of the filter",
					[]Edit{{"unix.SYS_UNSHARE, unix.SYS_SETNS,", "unix.SYS_SETNS,", "seccomp.go"}}},
			},
			Run: checkSeccomp,
		},
		{
			ID: "sec.masked", Step: 10,
			Proves: "/proc's windows on the host (kcore, keys, timer_list, interrupts, acpi, ...) read empty, even with --cap-add ALL",
			Hints: [...]string{
				"Inside, `cat /proc/interrupts` must print nothing. Which /proc files show the host, not the container?",
				"After mounting proc and before pivoting: for each masked path that exists, bind-mount /dev/null over a file (MS_BIND), mount an empty read-only tmpfs over a directory.",
				"A fresh proc in a new PID namespace hides other processes, not the kernel: kcore, keys, timer_list and interrupts describe the whole machine. Masks must be done before the seccomp filter forbids mount.",
			},
			Mutants: []Mutant{
				{"sec.masked", 10, "forgets to mask /proc/interrupts",
					[]Edit{{"\"/proc/timer_stats\", \"/proc/interrupts\",", "\"/proc/timer_stats\",", "paths.go"}}},
			},
			Run: checkMasked,
		},
		{
			ID: "sec.readonly_paths", Step: 10,
			Proves: "/proc/sys, /proc/sysrq-trigger, /proc/irq and /proc/bus are read-only mounts: a sysctl write fails with EROFS, even with --cap-add ALL",
			Hints: [...]string{
				"Inside, with --cap-add ALL, `echo 0 > /proc/sys/net/ipv4/ip_forward` must fail with \"Read-only file system\", and /proc/sys must show ro in /proc/self/mountinfo.",
				"Bind each of /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus onto itself (MS_BIND|MS_REC), then unix.MountSetattr(AT_FDCWD, path, AT_RECURSIVE, &MountAttr{Attr_set: MOUNT_ATTR_RDONLY}).",
				"A bind mount ignores MS_RDONLY when it is made: read-only needs a second call (a remount with MS_BIND|MS_REMOUNT|MS_RDONLY keeping the locked flags, or mount_setattr).",
			},
			Mutants: []Mutant{
				{"sec.readonly_paths", 10, "binds the read-only paths onto themselves but never makes them read-only",
					[]Edit{{"if err := setMountAttr(path, unix.MOUNT_ATTR_RDONLY, unix.AT_RECURSIVE); err != nil {", "if err := error(nil); err != nil {", "paths.go"}}},
			},
			Run: checkReadOnlyPaths,
		},
		{
			ID: "sec.read_only_root", Step: 10,
			Proves: "with --read-only the root takes no writes (EROFS); without it, it does",
			Hints: [...]string{
				"`run --read-only ... touch /tmp/x` must fail with \"Read-only file system\"; without the flag it must work.",
				"Accept --read-only, pass it on to the child, and after mounting the root set MOUNT_ATTR_RDONLY on it with mount_setattr (not recursive: /proc and /dev stay as they are).",
				"After pivot_root the root is \"/\" and its old path is gone: make it read-only before the pivot, on the rootfs path, and before the seccomp filter forbids mount_setattr.",
			},
			Mutants: []Mutant{
				{"sec.read_only_root", 10, "ignores --read-only",
					[]Edit{dropCall("makeRootReadOnly(cfg.rootfs)")}},
			},
			Run: checkReadOnlyRoot,
		},
		{
			ID: "sec.devices", Step: 10,
			Proves: "only /dev's allow-listed devices open: a device node in the image fails with EACCES and mknod with EPERM, even with --cap-add ALL",
			Hints: [...]string{
				"A device node the image brings (the harness adds /stepbox-device, the zero device) must not open inside: EACCES. /dev keeps its few bound devices.",
				"mount_setattr(rootfs, MOUNT_ATTR_NODEV) on the container's root, right after mounting it; /dev is a mount of its own, so the devices bound there still work.",
				"The overlay is mounted by the host's root, outside the user namespace, so the kernel honours its device nodes: a runtime that relies on \"mknod fails in a user namespace\" forgets the nodes that come with the image.",
			},
			Mutants: []Mutant{
				{"sec.devices", 10, "leaves the root's device nodes usable (no nodev)",
					[]Edit{dropCall("restrictDevices(cfg.rootfs)")}},
			},
			Run: checkDevices,
		},
		{
			ID: "sec.attacks", Step: 10,
			Proves: "every attack of the README's table fails with the expected error under the default settings",
			Hints: [...]string{
				"Run `/probe report --attacks` inside: every attack must fail as the README's table says. The first one that succeeds names the missing defence.",
				"confine: drop the bounding set, clear the ambient set, capset, no_new_privs, seccomp filter, in that order, just before exec.",
				"Dropping capabilities is not enough: unshare(CLONE_NEWUSER) and keyctl need none. Those are the seccomp filter's.",
			},
			Mutants: []Mutant{
				{"sec.attacks", 10, "drops capabilities but never installs the seccomp filter",
					[]Edit{{"return installSeccomp()", "return nil", "confine.go"}}},
			},
			Run: checkAttacks,
		},
		{
			ID: "sec.ordinary", Step: 10,
			Proves: "ordinary programs still work: a shell, ls, ps, and a server on loopback answering a client",
			Hints: [...]string{
				"A shell, ls, ps and a server on 127.0.0.1 must work inside. If nothing runs at all, look at the order of the child's steps.",
				"Install the filter last, after every mount, the pivot and the capability calls; deny only the calls on the list, and for clone only the namespace flags, so fork and threads still work.",
				"A filter installed before the runtime's own mounts makes the runtime fail on its first mount (\"cannot make / a private mount: operation not permitted\"): seccomp applies to the runtime too, from the moment it is installed.",
			},
			Mutants: []Mutant{
				{"sec.ordinary", 10, "installs the seccomp filter first, before the runtime's own mounts",
					[]Edit{{"if err := setHostname(cfg.hostname); err != nil {", "if err := installSeccomp(); err != nil {\n\t\treturn err\n\t}\n\tif err := setHostname(cfg.hostname); err != nil {", ""}}},
			},
			Run: checkOrdinary,
		},
		{
			ID: "sec.exec", Step: 10,
			Proves: "a process `exec` starts in a running container is as confined as the command: the same capabilities, no_new_privs and filter",
			Hints: [...]string{
				"Start a detached container, then `exec ID grep Cap /proc/self/status`: the sets must be those of the command. Who starts exec's processes, and on which thread?",
				"Call confine in the child before it becomes the init; make capset and no_new_privs on every thread with syscall.AllThreadsSyscall (build with CGO_ENABLED=0) and install the filter with SECCOMP_FILTER_FLAG_TSYNC; a bounding set dropped on one locked thread holds only for the processes forked from that thread.",
				"A process takes the capabilities of the thread that forks it. runtime.LockOSThread confines one thread: the command, started from it, is fine, but the init serves exec on other goroutines, on threads that still hold what that thread dropped: fork exec's processes from the confined thread too, or confine every thread.",
			},
			Mutants: []Mutant{
				{"sec.exec", 10, "drops the bounding set on one locked thread, but forks exec's processes from whichever thread serves the request",
					[]Edit{{"if startTID == 0 || unix.Gettid() == startTID {", "if startTID == 0 || unix.Gettid() > 0 {", "starter.go"}}},
			},
			Run: checkExecConfined,
		},
	},
}

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
		id, out := s.detachUntil("echo up && while :; do sleep 0.1; done", "up")
		if !out.Pass {
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
