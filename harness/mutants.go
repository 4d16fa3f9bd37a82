package harness

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// A Mutant is a known-bad program: a reference step with exactly one
// deliberate defect, made by editing its source at build time (go build
// -overlay), so the step folders hold only good code. The harness's tests
// prove that Check rejects it: a check that cannot fail is a defect.
type Mutant struct {
	Check  string // the check that must reject it
	Step   int    // the reference step it is made from
	Defect string // the defect, in a learner's words
	Edits  []Edit // each must match exactly once
}

// Edit replaces Old, which must occur exactly once in the step's File
// (main.go when empty), with New.
type Edit struct{ Old, New, File string }

// dropCall edits out a call of the form `if err := CALL; err != nil {`,
// leaving the function itself in place (and unused).
func dropCall(call string) Edit {
	return Edit{Old: "if err := " + call + "; err != nil {", New: "if err := error(nil); err != nil {"}
}

// Mutants lists one or more known-bad programs for every check.
var Mutants = []Mutant{
	{"cli.args", 1, "passes only the command name to the child, not its arguments",
		[]Edit{{"return append(args, cfg.command...)", "return append(args, cfg.command[0])", ""}}},
	{"cli.stdio", 1, "does not connect the child's stdin and stdout",
		[]Edit{{"cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr", "cmd.Stderr = os.Stderr", ""}}},
	{"cli.exit_status", 1, "exits 1 whenever the command fails, as the article does",
		[]Edit{{"return cmd.ProcessState.ExitCode(), nil", "return min(cmd.ProcessState.ExitCode(), 1), nil", ""}}},
	{"cli.usage", 1, "panics on an unknown subcommand, as the article does",
		[]Edit{{`return failed(exitUsage, withUsage(fmt.Errorf("unknown subcommand %q", args[0])))`, `panic("wat should I do")`, ""}}},
	{"cli.not_found", 1, "exits 125 instead of 127 when the command does not exist",
		[]Edit{{"failed(exitNotFound,", "failed(exitRuntime,", ""}}},
	{"cli.exec", 1, "starts the command as a grandchild with Run, as the article does, instead of exec",
		[]Edit{{"err = unix.Exec(path, command, os.Environ())",
			"_ = unix.Exec // unused now\n\tc := exec.Command(path, command[1:]...)\n\tc.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr\n\tif err = c.Run(); err == nil {\n\t\treturn 0\n\t}", ""}}},

	{"cli.exec", 3, "starts the command as a grandchild in a second PID namespace, where it is PID 1 with parent 0 and looks exec'd from inside",
		[]Edit{{"err = unix.Exec(path, command, os.Environ())",
			"_ = unix.Exec // unused now\n\tc := exec.Command(path, command[1:]...)\n\tc.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr\n\tc.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}\n\tif err = c.Run(); err == nil {\n\t\treturn 0\n\t}", ""}}},

	{"uts.hostname", 2, "ignores --hostname",
		[]Edit{dropCall("setHostname(cfg.hostname)")}},
	{"uts.ns_new", 2, "forgets CLONE_NEWUTS",
		[]Edit{{"Cloneflags: unix.CLONE_NEWUTS,", "Cloneflags: 0,", ""}}},
	{"uts.host_unchanged", 2, "forgets CLONE_NEWUTS, so sethostname renames the machine around it",
		[]Edit{{"Cloneflags: unix.CLONE_NEWUTS,", "Cloneflags: 0,", ""}}},

	{"pid.one", 3, "forgets CLONE_NEWPID",
		[]Edit{{"unix.CLONE_NEWPID |", "0 |", ""}}},
	{"pid.ns_new", 3, "forgets CLONE_NEWPID",
		[]Edit{{"unix.CLONE_NEWPID |", "0 |", ""}}},
	{"proc.only_container", 3, "does not mount a fresh /proc",
		[]Edit{dropCall("mountProc()")}},
	{"mnt.ns_new", 3, "forgets CLONE_NEWNS",
		[]Edit{{"unix.CLONE_NEWNS |", "0 |", ""}}},
	{"mnt.no_leak", 3, "mounts /proc without first making / private",
		[]Edit{dropCall("makeMountsPrivate()")}},
	{"ipc.ns_new", 3, "forgets CLONE_NEWIPC",
		[]Edit{{"unix.CLONE_NEWIPC,", "0,", ""}}},

	{"root.is_rootfs", 4, "never pivots into the rootfs",
		[]Edit{dropCall("pivotRoot(cfg.rootfs)"), dropCall("detachOldRoot()")}},
	{"root.host_hidden", 4, "never pivots into the rootfs",
		[]Edit{dropCall("pivotRoot(cfg.rootfs)"), dropCall("detachOldRoot()")}},
	{"root.host_hidden", 4, "calls chroot instead of pivot_root: a process with CAP_SYS_CHROOT climbs back out",
		[]Edit{
			{`if err := unix.PivotRoot(".", "."); err != nil {`, `if err := unix.Chroot("."); err != nil {`, ""},
			{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
		}},
	{"root.host_hidden", 4, "pivots into an oldrootfs directory and leaves the old root mounted there, as the article does",
		[]Edit{
			{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
			{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
		}},
	{"root.host_hidden", 4, "pivots into an oldrootfs directory, leaves the old root mounted there and never mounts /proc, as the article does",
		[]Edit{
			{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
			{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""},
			dropCall("mountProc()"),
		}},
	{"root.oldroot_unmounted", 4, "leaves the old root mounted after pivot_root",
		[]Edit{{`unix.Unmount(".", unix.MNT_DETACH)`, "error(nil)", ""}}},
	{"root.oldroot_removed", 4, "pivots into an oldrootfs directory and leaves it there, as the article does",
		[]Edit{
			{`if err := unix.PivotRoot(".", "."); err != nil {`, "_ = os.Mkdir(\"oldrootfs\", 0o700)\n\tif err := unix.PivotRoot(\".\", \"oldrootfs\"); err != nil {", ""},
			{`unix.Unmount(".", unix.MNT_DETACH)`, `unix.Unmount("/oldrootfs", unix.MNT_DETACH)`, ""},
		}},
	{"mnt.minimal", 4, "does not mount /proc in the new root",
		[]Edit{dropCall("mountProc()")}},
	{"dev.null", 4, "creates no device nodes in /dev",
		[]Edit{dropCall("makeDevices()")}},
	{"rootfs.missing", 4, "panics when the rootfs is missing",
		[]Edit{{"if errors.Is(err, fs.ErrNotExist) {", "if errors.Is(err, fs.ErrNotExist) {\n\t\tpanic(err)", ""}}},

	{"cgroup.quota_written", 5, "never writes the quota",
		[]Edit{dropCall("cg.setCPUQuota(cfg.cpus)")}},
	{"cgroup.enforced", 5, "never moves the child into the cgroup",
		[]Edit{dropCall("cg.addProcess(cmd.Process.Pid)")}},
	{"cgroup.removed", 5, "never removes the cgroup",
		[]Edit{{"if removeErr := cg.remove(); removeErr", "if removeErr := error(nil); removeErr", ""}}},
	{"cgroup.separate", 5, "gives every container the same cgroup name",
		[]Edit{{`os.Getpid(), rand.Uint32())`, `0, rand.Uint32()*0)`, "cgroup.go"}}},
	{"cgroup.bad_cpus", 5, "accepts --cpus values below 0.01",
		[]Edit{{"if cpus < 0.01 {", "if cpus < -1e9 {", ""}}},
	// Two seconds late, not 100 ms: under software emulation the probe may
	// take longer than 100 ms to start and read its cgroup.
	{"cgroup.from_start", 5, "releases the child first and moves it into its cgroup two seconds later, so the command starts unlimited",
		[]Edit{
			{"\tif err := releaseChild(syncWrite); err != nil {\n\t\treturn 0, err\n\t}\n\treturn waitForChild(cmd)",
				"\treturn waitForChild(cmd)", ""},
			{"\tif err := host.setUp(cfg, cmd); err != nil {",
				"\tif err := releaseChild(syncWrite); err != nil {\n\t\treturn 0, err\n\t}\n\t_ = unix.Nanosleep(&unix.Timespec{Sec: 2}, nil)\n\tif err := host.setUp(cfg, cmd); err != nil {", ""},
		}},
	{"cli.signals", 5, "ignores SIGINT and SIGQUIT to survive Ctrl-C instead of catching them",
		[]Edit{{"signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)",
			"signal.Notify(signals, unix.SIGTERM, unix.SIGHUP)\n\tsignal.Ignore(unix.SIGINT, unix.SIGQUIT)", ""}}},
	{"cli.fds", 5, "never closes the sync pipe in the child, so the command inherits fd 3",
		[]Edit{{"\tdefer syncPipe.Close()\n", "", ""}}},

	{"userns.ns_new", 6, "creates no user namespace (and so writes no maps), like step 05",
		[]Edit{{"Cloneflags: unix.CLONE_NEWUSER |", "Cloneflags: 0 |", ""},
			{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "", ""},
			{"GidMappings: []syscall.SysProcIDMap{cfg.gidMap},", "", ""}}},
	{"userns.root_inside", 6, "ignores --uid-map and always maps the default range",
		[]Edit{{`parseIDMap("--uid-map", *uidMap)`, `parseIDMap("--uid-map", defaultIDMap(os.Geteuid())+(*uidMap)[:0])`, ""}}},
	{"userns.host_ids", 6, "maps the container's root to the host's root",
		[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
	{"userns.files_owned", 6, "maps the container's root to the host's root",
		[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
	{"userns.no_host_root", 6, "maps the container's root to the host's root",
		[]Edit{{"UidMappings: []syscall.SysProcIDMap{cfg.uidMap},", "UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},", ""}}},
	{"userns.rootless", 6, "leaves setgroups allowed, so an ordinary user may not write gid_map",
		[]Edit{{"GidMappingsEnableSetgroups: os.Geteuid() == 0,", "GidMappingsEnableSetgroups: true,", ""}}},

	{"net.ns_new", 7, "forgets CLONE_NEWNET, so the container shares the host side's network",
		[]Edit{{"unix.CLONE_NEWNET, //", "0, //", ""}}},
	{"net.interfaces", 7, "leaves the container's loopback down",
		[]Edit{dropCall("setLoopbackUp()")}},
	{"net.gateway", 7, "never puts the gateway address on the bridge",
		[]Edit{{"if err := addGatewayAddress(bridge); err != nil {", "if err := error(nil); err != nil {", "network.go"}}},
	{"net.containers", 7, "gives every container the first address, used or not",
		[]Edit{{"if !used[hex.EncodeToString(ip)] {", "if true {", "network.go"}}},
	{"net.cleaned", 7, "pins each container's network namespace with a bind mount, as `ip netns add` does, and never lets go: the host end of its veth pair stays",
		[]Edit{{"\tdefer ns.Close()\n", "\tdefer ns.Close()\n\tif pin, err := os.Create(fmt.Sprintf(\"netns-%d\", childPID)); err == nil {\n\t\tpin.Close()\n\t\t_ = unix.Mount(fmt.Sprintf(\"/proc/%d/ns/net\", childPID), pin.Name(), \"\", unix.MS_BIND, \"\")\n\t}\n", "network.go"}}},

	{"overlay.image_unchanged", 8, "bind-mounts the image itself, writable, as step 07 did",
		[]Edit{{"return l.merged, l, ovl, nil", "_ = l.remove()\n\treturn cfg.rootfs, nil, nil, nil", ""},
			{"unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep", "unix.MS_BIND|unix.MS_REMOUNT|keep", "overlay.go"}}},
	{"overlay.isolated", 8, "gives every container the same layer directory",
		[]Edit{{"rand.Uint64()>>16)", "rand.Uint64()*0)", "layer.go"},
			{"if err := os.Mkdir(l.dir, 0o711); err != nil {", "if err := os.MkdirAll(l.dir, 0o711); err != nil {", "layer.go"},
			{"if err := os.Mkdir(d, 0o755); err != nil {", "if err := os.MkdirAll(d, 0o755); err != nil {", "layer.go"}}},
	{"overlay.layer_removed", 8, "never removes the container's layer",
		[]Edit{{"if removeErr := l.remove(); removeErr != nil && err == nil {", "if removeErr := error(nil); removeErr != nil && err == nil {", ""}}},
	{"overlay.bad_upper", 8, "prints the kernel's bare error when the overlay is refused",
		[]Edit{{"msg := fmt.Sprintf(\"cannot mount the overlay", "return err\n\tmsg := fmt.Sprintf(\"cannot mount the overlay", "overlay.go"}}},

	{"life.detached", 9, "ties the background runtime to the launcher with Pdeathsig, so the container dies when run -d returns",
		[]Edit{{"cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}", "cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}", "detach.go"}}},
	{"life.ps", 9, "never records that the container started (no PID, status stays created)",
		[]Edit{dropCall("h.state.running(cmd.Process.Pid, h.cgroup.dir, h.network.hostEnd)")}},
	{"life.exec", 9, "starts exec's command with the init's own stdio instead of the files exec sent",
		[]Edit{{"pid, err := startProcess(path, req.Command, files, true)", "pid, err := startProcess(path, req.Command, []uintptr{0, 1, 2}, true)", "exec.go"}}},
	{"life.stop_graceful", 9, "stops with SIGKILL straight away, no SIGTERM",
		[]Edit{{"if err := st.signal(unix.SIGTERM); err != nil {", "if err := st.signal(unix.SIGKILL); err != nil {", "commands.go"}}},
	{"life.stop_kill", 9, "never escalates to SIGKILL after the grace period",
		[]Edit{{"if st.waitEnded(grace) {", "if st.waitEnded(grace) || true {", "commands.go"}}},
	{"life.reap", 9, "the init waits for the command alone, never for orphans",
		[]Edit{{"unix.Wait4(-1, &ws, 0, nil)", "unix.Wait4(in.main, &ws, 0, nil)", "init.go"}}},
	{"life.init_signals", 9, "the init catches signals but never forwards them to the command",
		[]Edit{{"go in.forwardSignals(signals)", "_ = in.forwardSignals", "init.go"}}},
	{"life.rm_clean", 9, "rm forgets the container's directory (state, log, writable layer)",
		[]Edit{{"return (&layer{id: st.ID, dir: st.dir}).remove()", "return nil", "commands.go"}}},
	{"life.crashed", 9, "rm trusts the runtime to have cleaned up, also when it crashed",
		[]Edit{{"if st.Status != \"exited\" {", "if false {", "commands.go"}}},
	{"life.bad_input", 9, "rm removes a running container without -f",
		[]Edit{{"if st.live() && !force {", "if false && !force {", "commands.go"}}},

	{"sec.caps", 10, "forgets to drop the bounding set: no_new_privs keeps exec from giving root every capability back, but the ceiling is gone",
		[]Edit{{"if err := dropBoundingSet(keep); err != nil {", "if err := error(nil); err != nil {", "confine.go"}}},
	{"sec.cap_flags", 10, "ignores --cap-add",
		[]Edit{{"} else {\n\t\t\tmask |= 1 << capNumbers[name]", "} else {\n\t\t\t_ = name", "caps.go"}}},
	{"sec.no_new_privs", 10, "installs the seccomp filter before dropping capabilities, while it still may without no_new_privs, and never sets no_new_privs",
		[]Edit{{"if err := setCaps(keep); err != nil {", "if err := installSeccomp(); err != nil {\n\t\treturn err\n\t}\n\tif err := setCaps(keep); err != nil {", "confine.go"},
			{"if err := setNoNewPrivs(); err != nil {\n\t\treturn err\n\t}\n\treturn installSeccomp()", "return nil", "confine.go"}}},
	{"sec.seccomp", 10, "leaves unshare out of the filter",
		[]Edit{{"unix.SYS_UNSHARE, unix.SYS_SETNS,", "unix.SYS_SETNS,", "seccomp.go"}}},
	{"sec.masked", 10, "forgets to mask /proc/interrupts",
		[]Edit{{"\"/proc/timer_stats\", \"/proc/interrupts\",", "\"/proc/timer_stats\",", "paths.go"}}},
	{"sec.readonly_paths", 10, "binds the read-only paths onto themselves but never makes them read-only",
		[]Edit{{"if err := setMountAttr(path, unix.MOUNT_ATTR_RDONLY, unix.AT_RECURSIVE); err != nil {", "if err := error(nil); err != nil {", "paths.go"}}},
	{"sec.read_only_root", 10, "ignores --read-only",
		[]Edit{dropCall("makeRootReadOnly(cfg.rootfs)")}},
	{"sec.devices", 10, "leaves the root's device nodes usable (no nodev)",
		[]Edit{dropCall("restrictDevices(cfg.rootfs)")}},
	{"sec.attacks", 10, "drops capabilities but never installs the seccomp filter",
		[]Edit{{"return installSeccomp()", "return nil", "confine.go"}}},
	{"sec.ordinary", 10, "installs the seccomp filter first, before the runtime's own mounts",
		[]Edit{{"if err := setHostname(cfg.hostname); err != nil {", "if err := installSeccomp(); err != nil {\n\t\treturn err\n\t}\n\tif err := setHostname(cfg.hostname); err != nil {", ""}}},
	{"sec.exec", 10, "locks its thread and drops capabilities and sets no_new_privs on it alone, as if one thread were the process",
		[]Edit{{"\"fmt\"\n\t\"syscall\"", "\"fmt\"\n\t\"runtime\"\n\t\"syscall\"", "confine.go"},
			{"func confine(cfg config) error {\n", "func confine(cfg config) error {\n\truntime.LockOSThread()\n", "confine.go"},
			{"syscall.AllThreadsSyscall(trap, a1, a2, a3)", "syscall.RawSyscall(trap, a1, a2, a3)", "confine.go"}}},

	{"oci.create_waits", 11, "never waits for start: the init execs the command as soon as create has set it up",
		[]Edit{{"connFD, err := acceptStart(startFD)", "connFD, err := unix.Open(\"/dev/null\", unix.O_WRONLY, 0)", "ocistart.go"}}},
	{"oci.start_runs", 11, "start records the container as running without ever releasing the init",
		[]Edit{{"answer, err := knock(r.dir)", "answer, err := \"\", error(nil)", "ocistart.go"}}},
	{"oci.state", 11, "reports the status recorded in the state file, never noticing the process has exited",
		[]Edit{{"if r.Status == statusStopped || !r.alive() {", "if r.Status == statusStopped {", "ocistate.go"}}},
	{"oci.pid_file", 11, "ignores --pid-file",
		[]Edit{{"if err := writePidFile(o.pidFile, r.Pid); err != nil {", "if err := error(nil); err != nil {", "ocicreate.go"}}},
	{"oci.kill", 11, "always sends SIGKILL, whatever signal kill was given",
		[]Edit{{"if err := unix.Kill(r.Pid, sig); err != nil", "if err := unix.Kill(r.Pid, unix.SIGKILL); err != nil", "ocicmds.go"}}},
	{"oci.delete", 11, "delete removes the state but forgets the container's cgroups",
		[]Edit{{"\tremoveCgroups(r)\n\tr.Status = statusStopped", "\tr.Status = statusStopped", "ocicmds.go"}}},
	{"oci.relative_root", 11, "resolves a relative root.path against the working directory, not the bundle",
		[]Edit{{"b.rootfs = filepath.Join(abs, b.rootfs)", "b.rootfs, _ = filepath.Abs(b.rootfs)", "ocibundle.go"}}},
	{"oci.log_json", 11, "writes text log lines whatever --log-format says",
		[]Edit{{"if !ociLog.json {", "if true {", "ocilog.go"}}},
	{"oci.exec", 11, "starts exec's process in the container's root but in the runtime's own namespaces",
		[]Edit{{"return joinNamespace(specs.LinuxNamespace{Type: t, Path: theirs})", "return nil", "ociexec.go"}}},
	{"oci.bad_bundle", 11, "takes any ociVersion, 2.0.0 included",
		[]Edit{{"case !specVersion.MatchString(spec.Version):", "case false:", "ocibundle.go"}}},
}

// MutantName is the binary name of a mutant: mutant-CHECK for the first
// of its check in Mutants, mutant-CHECK-2, -3, ... for the others.
func MutantName(m Mutant) string {
	n := 0
	for _, other := range Mutants {
		if other.Check == m.Check {
			n++
		}
		if other.Check == m.Check && other.Defect == m.Defect {
			break
		}
	}
	if n <= 1 {
		return "mutant-" + m.Check
	}
	return fmt.Sprintf("mutant-%s-%d", m.Check, n)
}

// MutatedSources returns the mutant's edited files (absolute path to new
// source), or an error naming an edit that no longer matches exactly once.
func MutatedSources(root string, m Mutant) (map[string]string, error) {
	dir, err := engine.StepDir(root, m.Step)
	if err != nil {
		return nil, err
	}
	sources := map[string]string{}
	for _, e := range m.Edits {
		path := filepath.Join(root, dir, cmp.Or(e.File, "main.go"))
		src, ok := sources[path]
		if !ok {
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, err
			}
			src = string(data)
		}
		if n := strings.Count(src, e.Old); n != 1 {
			return nil, fmt.Errorf("mutant for %s: %q occurs %d times in %s, want once: update the mutant", m.Check, e.Old, n, path)
		}
		sources[path] = strings.Replace(src, e.Old, e.New, 1)
	}
	return sources, nil
}

// BuildMutant builds the known-bad program.
func BuildMutant(m Mutant) (string, error) {
	if os.Getenv(engine.PrebuiltEnv) != "" {
		return engine.Build(MutantName(m), "", nil)
	}
	root, err := engine.ModuleRoot()
	if err != nil {
		return "", err
	}
	sources, err := MutatedSources(root, m)
	if err != nil {
		return "", err
	}
	out, err := engine.BuildDir()
	if err != nil {
		return "", err
	}
	overlay := map[string]string{}
	for path, src := range sources {
		file := filepath.Join(out, MutantName(m)+"."+filepath.Base(path))
		if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
			return "", err
		}
		overlay[path] = file
	}
	dir, err := engine.StepDir(root, m.Step)
	if err != nil {
		return "", err
	}
	return engine.Build(MutantName(m), "./"+dir, overlay)
}
