package harness

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/stepbox/stepbox/harness/engine"
)

// Step 11: the OCI runtime command line: create, start, state, kill, delete, exec.
var step11 = Step{
	N: 11,
	Todos: []Todo{
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "speak the OCI runtime command line too, as runc does, and leave the course's own commands as they are: global flags --root DIR (where containers' state lives), --log FILE and --log-format text|json (every error also goes to the log, as a JSON line {level, msg, time} in json); create [--bundle DIR] [--pid-file F] ID, start ID, state ID (the spec's JSON), kill ID [SIGNAL], delete [--force] ID, exec ID CMD [ARG...]. Read the bundle's config.json with github.com/opencontainers/runtime-spec/specs-go; a relative root.path is the bundle's. A bad bundle or a taken id: one line, a non-zero exit, nothing left behind."},
		{Anchor: "func runContainer(cfg config) (status int, err error) {", After: true,
			Text: "create must return while the container waits: set everything up in the container's first process as run does (namespaces, cgroup at linux.cgroupsPath, mounts, the new root), then make it wait before its final execve until start releases it; write --pid-file before create returns. The status is created, then running, then stopped once the process has gone, which state must notice by itself. delete refuses a container that is not stopped (unless --force) and removes its state and cgroups."},
		{Anchor: "func execInContainer(args []string) int {", File: "exec.go", After: true,
			Text: "OCI exec has no init of ours to ask: it must enter the namespaces of the container's process itself, and its root, and exit with its process's status."},
	},
	Checks: []Check{
		{
			ID: "oci.create_waits", Step: 11,
			Proves: "`create` returns with the container set up and its init waiting: state says created with the init's pid, and the command has not run",
			Hints: [...]string{
				"`create` must return while the container waits: everything set up, the command not yet run. What does your init do between setting up and execve, and who tells it to go on?",
				"Block the init before execve on something in the container's state directory that only `start` releases: runc's init opens a FIFO (exec.fifo) for writing, which blocks until start opens it for reading; a unix socket the init accept(2)s on works too. Pass its fd to the init, since after pivot_root the state directory is out of reach.",
				"Returning from create only once the command has run (or running it at create and pretending at start) breaks engines: podman and containerd set up the network namespace between create and start, and a command that already ran saw no network.",
			},
			Mutants: []Mutant{
				{"oci.create_waits", 11, "never waits for start: the init execs the command as soon as create has set it up",
					[]Edit{{"connFD, err := acceptStart(startFD)", "connFD, err := unix.Open(\"/dev/null\", unix.O_WRONLY, 0)", "ocistart.go"}}},
			},
			Run: checkOCICreateWaits,
		},
		{
			ID: "oci.start_runs", Step: 11,
			Proves: "`start` lets the waiting init exec the command, once: a second start fails",
			Hints: [...]string{
				"`start ID` must make the waiting init exec the command, and only once: a second start of the same container is an error.",
				"Load the container's state, refuse unless it is created, then release the init: open the FIFO's read end (or connect to its socket) and wait until the init has exec'd; record the status running.",
				"A start that only changes the state file, without reaching the init, returns 0 and nothing ever runs: engines then wait forever for the container's output.",
			},
			Mutants: []Mutant{
				{"oci.start_runs", 11, "start records the container as running without ever releasing the init",
					[]Edit{{"answer, err := knock(r.dir)", "answer, err := \"\", error(nil)", "ocistart.go"}}},
			},
			Run: checkOCIStartRuns,
		},
		{
			ID: "oci.state", Step: 11,
			Proves: "`state` prints the spec's JSON (ociVersion, id, status, pid, bundle, annotations), and the status goes created, running, stopped",
			Hints: [...]string{
				"`state ID` must print the spec's JSON, and its status must follow the process: created, running, then stopped once it has exited, even though nothing told the runtime it exited.",
				"Marshal specs.State from github.com/opencontainers/runtime-spec/specs-go: ociVersion, id, status, pid, bundle (absolute), annotations (from config.json). Compute the status on each call: stopped when the recorded pid is gone (kill(pid, 0) fails with ESRCH, or /proc/PID/stat says Z or has another start time).",
				"A status read only from the state file stays running forever: the runtime is not the container's parent and never learns of its exit. And PIDs are reused: keep the process's start time beside its pid.",
			},
			Mutants: []Mutant{
				{"oci.state", 11, "reports the status recorded in the state file, never noticing the process has exited",
					[]Edit{{"if r.Status == statusStopped || !r.alive() {", "if r.Status == statusStopped {", "ocistate.go"}}},
			},
			Run: checkOCIState,
		},
		{
			ID: "oci.pid_file", Step: 11,
			Proves: "`create --pid-file F` writes the init's pid to F before it returns, the pid state reports",
			Hints: [...]string{
				"conmon and containerd's shim read --pid-file the moment create returns, to learn which process to watch. Is it there, and is it the init's pid?",
				"At the end of create, once the init runs and waits, write its pid (as the host sees it) to the --pid-file, to a temporary name first and then rename(2), so a reader never sees an empty file.",
				"Writing the pid file at start, or writing the runtime's own pid, leaves the engine watching nothing, or watching a process that exits at once: podman then says the container exited.",
			},
			Mutants: []Mutant{
				{"oci.pid_file", 11, "ignores --pid-file",
					[]Edit{{"if err := writePidFile(o.pidFile, r.Pid); err != nil {", "if err := error(nil); err != nil {", "ocicreate.go"}}},
			},
			Run: checkOCIPidFile,
		},
		{
			ID: "oci.kill", Step: 11,
			Proves: "`kill ID SIGNAL` delivers that signal (names and numbers; SIGTERM by default) to the container's process",
			Hints: [...]string{
				"`kill ID TERM` must reach the container's process as SIGTERM, so it can end by its own handler; `kill ID 9` and `kill ID KILL` must work too.",
				"Parse the signal by name (TERM, SIGTERM) or number (15), default SIGTERM, and kill(2) the pid the state records; with --all, every pid in the container's cgroup.procs.",
				"Always sending SIGKILL looks fine until a program needs to clean up: podman stop sends SIGTERM first and waits. And a PID namespace's PID 1 gets only the signals it has a handler for: a shell with a trap does.",
			},
			Mutants: []Mutant{
				{"oci.kill", 11, "always sends SIGKILL, whatever signal kill was given",
					[]Edit{{"if err := unix.Kill(r.Pid, sig); err != nil", "if err := unix.Kill(r.Pid, unix.SIGKILL); err != nil", "ocicmds.go"}}},
			},
			Run: checkOCIKill,
		},
		{
			ID: "oci.delete", Step: 11,
			Proves: "`delete` refuses a running container without --force, and removes a stopped one whole: its state and its cgroup (linux.cgroupsPath)",
			Hints: [...]string{
				"`delete ID` must refuse a container that still runs (unless --force), and remove a stopped one whole: state directory and cgroup.",
				"Refuse unless the status is stopped; with --force, SIGKILL and wait until the process is gone. Then rmdir(2) the cgroup directory under each hierarchy (linux.cgroupsPath, deepest first), run the poststop hooks, and remove the state directory.",
				"A cgroup directory cannot be removed with rm -r, only with rmdir, and only once no process is left in it; forgetting it leaves one empty cgroup per container on the host for good.",
			},
			Mutants: []Mutant{
				{"oci.delete", 11, "delete removes the state but forgets the container's cgroups",
					[]Edit{{"\tremoveCgroups(r)\n\tr.Status = statusStopped", "\tr.Status = statusStopped", "ocicmds.go"}}},
			},
			Run: checkOCIDelete,
		},
		{
			ID: "oci.relative_root", Step: 11,
			Proves: "a relative root.path is the bundle's directory's, whatever directory create runs from",
			Hints: [...]string{
				"root.path in config.json may be relative (\"rootfs\"). Relative to what? Run create from another directory than the bundle.",
				"Make --bundle absolute first, then filepath.Join(bundle, root.path) when root.path is not absolute.",
				"filepath.Abs(root.path) resolves against the runtime's working directory, which engines never set to the bundle: podman and containerd run the runtime from their own directories.",
			},
			Mutants: []Mutant{
				{"oci.relative_root", 11, "resolves a relative root.path against the working directory, not the bundle",
					[]Edit{{"b.rootfs = filepath.Join(abs, b.rootfs)", "b.rootfs, _ = filepath.Abs(b.rootfs)", "ocibundle.go"}}},
			},
			Run: checkOCIRelativeRoot,
		},
		{
			ID: "oci.log_json", Step: 11,
			Proves: "with --log FILE --log-format json an error is one line on stderr and a {\"level\":\"error\",\"msg\":...,\"time\":...} line in FILE",
			Hints: [...]string{
				"Engines do not read the runtime's stderr: they pass --log FILE --log-format json and report the last error line of FILE. Does your runtime write it?",
				"Parse the global flags before the command; on every error, append one JSON object per line, {\"level\":\"error\",\"msg\":\"...\",\"time\":\"RFC 3339\"}, to the --log file, and still print the line on stderr.",
				"A runtime that logs text (or nothing) under --log-format json fails with an empty message in ctr and podman: the user sees \"exit status 1\" and nothing else.",
			},
			Mutants: []Mutant{
				{"oci.log_json", 11, "writes text log lines whatever --log-format says",
					[]Edit{{"if !ociLog.json {", "if true {", "ocilog.go"}}},
			},
			Run: checkOCILogJSON,
		},
		{
			ID: "oci.exec", Step: 11,
			Proves: "`exec ID CMD` runs CMD inside the running container (its hostname, root, mount and PID namespaces) with exec's stdout and exit status",
			Hints: [...]string{
				"A process started by `exec ID` must be inside the container: the container's hostname, root, mounts and processes, with exec's stdout and exit status.",
				"On a locked OS thread, setns(2) into the namespaces of /proc/PID/ns (uts, ipc, net, cgroup, and pid, which applies to the thread's children), then start the process from that thread; put it in the container's cgroup; in the new process, on its own locked thread, unshare(CLONE_FS) and setns into /proc/PID/ns/mnt, then chroot into /proc/PID/root, before it execs.",
				"A Go program is multithreaded: the kernel never lets it into a user namespace, and lets a thread into a mount namespace only once unshare(CLONE_FS) has given it its own root and working directory (else EINVAL). runc does both in C before the Go runtime starts. setns on an unlocked goroutine changes a random thread.",
			},
			Mutants: []Mutant{
				{"oci.exec", 11, "starts exec's process in the container's root but in the runtime's own namespaces",
					[]Edit{{"return joinNamespace(specs.LinuxNamespace{Type: t, Path: theirs})", "return nil", "ociexec.go"}}},
				{"oci.exec", 11, "chroots exec's process into the container's root but leaves it in the runtime's mount namespace",
					[]Edit{{"if err := enterMountNamespace(6); err != nil {", "if err := error(nil); err != nil {", "ociexec.go"}}},
			},
			Run: checkOCIExec,
		},
		{
			ID: "oci.bad_bundle", Step: 11,
			Proves: "a bundle without config.json, with invalid JSON, an unsupported ociVersion or a missing root, and an id already taken: create fails with one line and leaves nothing behind",
			Hints: [...]string{
				"Try create with no config.json, with invalid JSON, with ociVersion 2.0.0, with a root.path that does not exist, and twice with the same id: each must fail with one clear line, and leave nothing.",
				"Read config.json with the spec's Go types and check ociVersion and root.path before creating anything; claim the id with mkdir(2) of ROOT/ID, which fails with EEXIST when it is taken; on a later failure, kill the init and remove the cgroup and the directory.",
				"Checking the bundle after the state directory or the cgroup exist leaves them behind when it fails; a second create of a taken id must not touch (or delete) the first container.",
			},
			Mutants: []Mutant{
				{"oci.bad_bundle", 11, "takes any ociVersion, 2.0.0 included",
					[]Edit{{"case !specVersion.MatchString(spec.Version):", "case false:", "ocibundle.go"}}},
			},
			Run: checkOCIBadBundle,
		},
	},
}

// Step 11: the OCI runtime command line. Each check drives the binary as
// an engine does (create, start, state, kill, delete, exec, with
// --root, --bundle, --pid-file, --log), in a session sandbox, on a bundle
// the check writes: config.json, made with the spec's own Go types, and
// the rootfs copy beside it, named by a relative root.path. Only the
// spec's contract is judged: the state JSON, files in the container's
// root, the cgroupsPath the config names, exit statuses.

// ociBundle is one container's bundle in a session, and the commands
// that drive it.
type ociBundle struct {
	s        *Session
	root     string // --root: the runtime's state directory
	dir      string // the bundle
	rootfs   string // dir/rootfs
	id       string
	cgroup   string // linux.cgroupsPath: /stepbox-oci-<id>
	hostname string
}

// newOCIBundle moves the session's rootfs copy into a bundle directory
// (s.Dir/bundle/rootfs, named "rootfs" in config.json, relative: a
// runtime that resolves it against its working directory, s.Dir, finds
// nothing) and writes config.json running script with sh.
func newOCIBundle(s *Session, script string, edit func(*specs.Spec)) (*ociBundle, error) {
	id := "oci-" + engine.RandomHex(4)
	b := &ociBundle{s: s, root: filepath.Join(s.Dir, "oci-root"), dir: filepath.Join(s.Dir, "bundle"), id: id,
		cgroup: "/" + engine.CgroupPrefix + id, hostname: "h-" + id}
	b.rootfs = filepath.Join(b.dir, "rootfs")
	if err := os.MkdirAll(b.dir, 0o711); err != nil {
		return nil, err
	}
	if _, err := os.Stat(b.rootfs); err != nil {
		if err := os.Rename(s.Rootfs, b.rootfs); err != nil {
			return nil, err
		}
	}
	spec := ociSpec(b, script)
	if edit != nil {
		edit(spec)
	}
	return b, b.writeConfig(spec)
}

// writeConfig writes the bundle's config.json.
func (b *ociBundle) writeConfig(spec *specs.Spec) error {
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644)
}

// ociSpec is a small config.json, runc spec's shape: new pid, mount,
// ipc, uts and network namespaces, /proc and /dev, a few capabilities.
func ociSpec(b *ociBundle, script string) *specs.Spec {
	caps := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}
	return &specs.Spec{
		Version: "1.0.2",
		Root:    &specs.Root{Path: "rootfs"},
		Process: &specs.Process{
			Args: []string{"/bin/sh", "-c", script}, Cwd: "/",
			Env:          []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps},
		},
		Hostname:    b.hostname,
		Annotations: map[string]string{"org.stepbox.check": b.id},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "mode=755"}},
		},
		Linux: &specs.Linux{
			CgroupsPath: b.cgroup,
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace},
				{Type: specs.IPCNamespace}, {Type: specs.UTSNamespace}, {Type: specs.NetworkNamespace}},
		},
	}
}

// run runs the binary with --root and args, in the session.
func (b *ociBundle) run(args ...string) (*engine.Result, Outcome) {
	res, err := b.s.Run(append([]string{"--root", b.root}, args...)...)
	if err != nil {
		return nil, fail("`"+strings.Join(args, " ")+"` to run", "a harness error: %v", err)
	}
	return res, pass()
}

// create runs create with extra flags. Its stdout and stderr, which
// the container's process inherits and keeps, go to files in the
// session directory, so the run ends when create does.
func (b *ociBundle) create(extra ...string) (*engine.Result, Outcome) {
	argv := append(append([]string{b.s.Env.Bin, "--root", b.root, "create", "--bundle", b.dir}, extra...), b.id)
	script := `exec "$@" </dev/null >"$OCI_OUT" 2>"$OCI_ERR"`
	out, errFile := filepath.Join(b.s.Dir, b.id+".out"), filepath.Join(b.s.Dir, b.id+".err")
	reply, err := b.s.RunCommand(append([]string{"/usr/bin/env", "OCI_OUT=" + out, "OCI_ERR=" + errFile,
		"/bin/sh", "-c", script, "sh"}, argv...)...)
	if err != nil {
		return nil, fail("`create` to run", "a harness error: %v", err)
	}
	stderr, _ := os.ReadFile(errFile)
	return &engine.Result{Argv: argv, Dir: b.s.Dir, Exit: reply.Exit, TimedOut: reply.TimedOut, Stderr: string(stderr)}, pass()
}

// mustCreate creates the container and fails unless that worked.
func (b *ociBundle) mustCreate(extra ...string) Outcome {
	res, out := b.create(extra...)
	if !out.Pass {
		return out
	}
	if res.Exit != 0 || res.TimedOut {
		return fail("`create` to succeed and return while the container waits", "%s", res.Describe())
	}
	return pass()
}

// state runs state and decodes it.
func (b *ociBundle) state() (*specs.State, *engine.Result, Outcome) {
	res, out := b.run("state", b.id)
	if !out.Pass {
		return nil, nil, out
	}
	if res.Exit != 0 {
		return nil, res, fail("`state "+b.id+"` to succeed", "%s", res.Describe())
	}
	var st specs.State
	if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
		return nil, res, fail("`state` to print the spec's state JSON", "%q: %v", engine.FirstLines(res.Stdout, 3), err)
	}
	return &st, res, pass()
}

// waitStatus polls state until the status is want, for up to 5s.
func (b *ociBundle) waitStatus(want string) (*specs.State, Outcome) {
	var st *specs.State
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var out Outcome
		if st, _, out = b.state(); !out.Pass {
			return nil, out
		}
		if st.Status == want {
			return st, pass()
		}
		if time.Now().After(deadline) {
			return st, fail("the status "+want, "%q after 5s", st.Status)
		}
	}
}

// file reads a file of the container's root, from the host.
func (b *ociBundle) file(path string) string {
	data, _ := os.ReadFile(filepath.Join(b.rootfs, path))
	return string(data)
}

// waitFile waits up to 5s for a file of the container's root to hold want.
func (b *ociBundle) waitFile(path, want string) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if strings.Contains(b.file(path), want) {
			return true
		}
	}
	return false
}

// sessionSh runs a shell command in the session (outside the container).
func (b *ociBundle) sessionSh(script string) string {
	res, err := b.s.RunCommand("/bin/sh", "-c", script)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(res.Stdout)
}

// inOCISession runs a check on a bundle in a session, and deletes the
// container with --force whatever the check found.
func (e *Env) inOCISession(script string, edit func(*specs.Spec), check func(*ociBundle) Outcome) Outcome {
	return e.inSession(func(s *Session) Outcome {
		b, err := newOCIBundle(s, script, edit)
		if err != nil {
			return fail("a bundle to run", "a harness error: %v", err)
		}
		defer b.run("delete", "--force", b.id)
		return check(b)
	})
}

// startedScript writes a marker, then waits: the command has run.
const startedScript = "echo started > /tmp/started; exec sleep 30"

// checkOCICreateWaits: create returns with everything set up and the
// init waiting; the command has not run.
func checkOCICreateWaits(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		time.Sleep(300 * time.Millisecond) // a command that was not held back has run by now
		if got := b.file("/tmp/started"); got != "" {
			return fail("the command not to run before `start`", "it wrote /tmp/started right after `create`")
		}
		st, _, out := b.state()
		if !out.Pass {
			return out
		}
		if st.Status != "created" || st.Pid <= 0 {
			return fail("`state` after create to say created, with the init's pid", "status %q, pid %d", st.Status, st.Pid)
		}
		if alive := b.sessionSh(fmt.Sprintf("test -d /proc/%d && echo yes", st.Pid)); alive != "yes" {
			return fail("the init (pid "+strconv.Itoa(st.Pid)+") to wait while created", "no such process")
		}
		return pass()
	})
}

// checkOCIStartRuns: start lets the command run, once.
func checkOCIStartRuns(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		res, out := b.run("start", b.id)
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail("`start` to succeed", "%s", res.Describe())
		}
		if !b.waitFile("/tmp/started", "started") {
			return fail("the command to run after `start`", "no /tmp/started after 5s")
		}
		if res, _ := b.run("start", b.id); res != nil && res.Exit == 0 {
			return fail("a second `start` to fail: a container starts once", "exit 0")
		}
		return pass()
	})
}

// checkOCIState: state prints the spec's JSON, and the status goes
// created, running, stopped as the process runs and ends.
func checkOCIState(e *Env) Outcome {
	return e.inOCISession("read line < /dev/null; sleep 0.5; exit 0", nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		st, res, out := b.state()
		if !out.Pass {
			return out
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(res.Stdout), &raw)
		for _, key := range []string{"ociVersion", "id", "status", "pid", "bundle"} {
			if _, ok := raw[key]; !ok {
				return fail("`state` to have ociVersion, id, status, pid and bundle", "no %q in %s", key, engine.FirstLines(res.Stdout, 8))
			}
		}
		if st.ID != b.id || st.Bundle != b.dir || st.Annotations["org.stepbox.check"] != b.id || !strings.HasPrefix(st.Version, "1.") {
			return fail(fmt.Sprintf("id %q, bundle %q, ociVersion 1.x and the config's annotations", b.id, b.dir),
				"id %q, bundle %q, ociVersion %q, annotations %v", st.ID, st.Bundle, st.Version, st.Annotations)
		}
		if st.Status != "created" {
			return fail("the status created after `create`", "%q", st.Status)
		}
		if res, _ := b.run("start", b.id); res == nil || res.Exit != 0 {
			return fail("`start` to succeed", "it failed")
		}
		if st, out = b.waitStatus("running"); !out.Pass && st != nil && st.Status != "stopped" {
			return out
		}
		if _, out = b.waitStatus("stopped"); !out.Pass {
			return fail("the status stopped once the command has exited", "%s", out.Got)
		}
		return pass()
	})
}

// checkOCIPidFile: --pid-file holds the init's pid as soon as create
// returns, the pid state reports.
func checkOCIPidFile(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		pidFile := filepath.Join(b.s.Dir, "init.pid")
		if out := b.mustCreate("--pid-file", pidFile); !out.Pass {
			return out
		}
		data, err := os.ReadFile(pidFile)
		if err != nil {
			return fail("the --pid-file to exist when create returns", "%v", err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			return fail("the --pid-file to hold a pid", "%q", data)
		}
		st, _, out := b.state()
		if !out.Pass {
			return out
		}
		if st.Pid != pid {
			return fail("the --pid-file's pid to be the one state reports", "%d in the file, %d in state", pid, st.Pid)
		}
		return pass()
	})
}

// trapScript ends on SIGTERM, by its own handler, and says so.
const trapScript = `trap 'echo term > /tmp/term; exit 0' TERM; echo started > /tmp/started; while :; do sleep 0.1; done`

// checkOCIKill: kill delivers the signal asked for, by name or number.
func checkOCIKill(e *Env) Outcome {
	return e.inOCISession(trapScript, nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		if res, _ := b.run("start", b.id); res == nil || res.Exit != 0 || !b.waitFile("/tmp/started", "started") {
			return fail("the container to start", "it did not")
		}
		res, out := b.run("kill", b.id, "TERM")
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail("`kill ID TERM` to succeed", "%s", res.Describe())
		}
		if !b.waitFile("/tmp/term", "term") {
			return fail("the command's TERM handler to run after `kill ID TERM`", "no /tmp/term after 5s")
		}
		if _, out := b.waitStatus("stopped"); !out.Pass {
			return out
		}
		return pass()
	})
}

// checkOCIDelete: delete refuses a running container without --force,
// and removes a stopped one whole: its state and its cgroup.
func checkOCIDelete(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		if res, _ := b.run("start", b.id); res == nil || res.Exit != 0 || !b.waitFile("/tmp/started", "started") {
			return fail("the container to start", "it did not")
		}
		if len(b.cgroupsNamed()) == 0 {
			return fail("the container's cgroup "+b.cgroup+" (linux.cgroupsPath) to exist while it runs", "none in any hierarchy")
		}
		if res, _ := b.run("delete", b.id); res == nil || res.Exit == 0 {
			return fail("`delete` of a running container, without --force, to fail", "exit 0")
		}
		if st, _, out := b.state(); !out.Pass || st.Status != "running" {
			return fail("the container to run on after a refused delete", "%s", out.Got)
		}
		if res, _ := b.run("kill", b.id, "KILL"); res == nil || res.Exit != 0 {
			return fail("`kill ID KILL` to succeed", "it failed")
		}
		if _, out := b.waitStatus("stopped"); !out.Pass {
			return out
		}
		if res, _ := b.run("delete", b.id); res == nil || res.Exit != 0 {
			return fail("`delete` of a stopped container to succeed", "it failed")
		}
		if left := b.cgroupsNamed(); len(left) > 0 {
			return fail("the container's cgroup gone after delete", "%v left", left)
		}
		if res, _ := b.run("state", b.id); res == nil || res.Exit == 0 {
			return fail("`state` of a deleted container to fail", "exit 0: it is still known")
		}
		return pass()
	})
}

// cgroupsNamed lists the directories of the container's cgroup path in
// every hierarchy of the host: at its root, or below the Env's cgroup
// jail when the sandbox mounts one over it (cgroupjail.go).
func (b *ociBundle) cgroupsNamed() []string {
	var found []string
	for _, point := range engine.CgroupMountPoints() {
		for _, dir := range []string{filepath.Join(point, b.cgroup), filepath.Join(point, b.s.Env.Jail(), b.cgroup)} {
			if _, err := os.Stat(dir); err == nil {
				found = append(found, dir)
			}
		}
	}
	return found
}

// checkOCIRelativeRoot: a relative root.path is the bundle's, not the
// working directory's.
func checkOCIRelativeRoot(e *Env) Outcome {
	return e.inOCISession("cat /etc/stepbox-rootfs > /tmp/token; exec sleep 30", nil, func(b *ociBundle) Outcome {
		res, out := b.create()
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail(`create to find root.path "rootfs" in the bundle (run from another directory)`, "%s", res.Describe())
		}
		if res, _ := b.run("start", b.id); res == nil || res.Exit != 0 {
			return fail("`start` to succeed", "it failed")
		}
		want := strings.TrimSpace(b.file(engine.RootfsTokenFile))
		if !b.waitFile("/tmp/token", want) {
			return fail("the container's / to be the bundle's rootfs", "no token from it after 5s")
		}
		return pass()
	})
}

// logLine is one --log-format json line.
type ociLogLine struct {
	Level string `json:"level"`
	Msg   string `json:"msg"`
	Time  string `json:"time"`
}

// checkOCILogJSON: with --log F --log-format json, an error is one line
// on stderr and a {"level":"error","msg":...,"time":...} line in F.
func checkOCILogJSON(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		logFile := filepath.Join(b.s.Dir, "runtime.log")
		res, out := b.run("--log", logFile, "--log-format", "json", "state", "no-such-container")
		if !out.Pass {
			return out
		}
		if res.Exit == 0 || strings.TrimSpace(res.Stderr) == "" || hasPanic(res.Stderr) {
			return fail("`state` of an unknown id to fail with a line on stderr", "%s", res.Describe())
		}
		data, err := os.ReadFile(logFile)
		if err != nil {
			return fail("the --log file to be written", "%v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		var line ociLogLine
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
			return fail(`the log's last line to be JSON like {"level":"error","msg":"...","time":"..."}`, "%q: %v", lines[len(lines)-1], err)
		}
		if _, err := time.Parse(time.RFC3339Nano, line.Time); line.Level != "error" || line.Msg == "" || err != nil {
			return fail(`level "error", a msg and an RFC 3339 time`, "%+v", line)
		}
		return pass()
	})
}

// checkOCIExec: exec runs a process inside the running container: its
// hostname, its root, its PID namespace (PID 1 is the container's
// command), with exec's stdout and exit status.
func checkOCIExec(e *Env) Outcome {
	// execScript prints what exec's process sees: the hostname, the
	// rootfs's token, PID 1's command, and mnt-shared when it is in PID
	// 1's mount namespace.
	const execScript = `hostname; cat /etc/stepbox-rootfs; tr '\0' ' ' < /proc/1/cmdline; echo; ` +
		`[ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ] && echo mnt-shared; exit 7`
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		if out := b.mustCreate(); !out.Pass {
			return out
		}
		if res, _ := b.run("start", b.id); res == nil || res.Exit != 0 || !b.waitFile("/tmp/started", "started") {
			return fail("the container to start", "it did not")
		}
		res, out := b.run("exec", b.id, "/bin/sh", "-c", execScript)
		if !out.Pass {
			return out
		}
		want := []string{b.hostname, strings.TrimSpace(b.file(engine.RootfsTokenFile)), "sleep 30", "mnt-shared"}
		for _, w := range want {
			if !strings.Contains(res.Stdout, w) {
				return fail(fmt.Sprintf("exec's process to see the container's hostname %q, its root, its command as PID 1 and to share its mount namespace (mnt-shared)", b.hostname),
					"%q (missing %q)", res.Stdout, w)
			}
		}
		if res.Exit != 7 {
			return fail("exec to exit with its process's status, 7", "%s", res.Describe())
		}
		return pass()
	})
}

// checkOCIBadBundle: a bundle without config.json, with invalid JSON,
// an unsupported ociVersion or a missing root, and an id already taken:
// one line, a non-zero exit, never a panic, nothing left behind.
func checkOCIBadBundle(e *Env) Outcome {
	return e.inOCISession(startedScript, nil, func(b *ociBundle) Outcome {
		good, _ := os.ReadFile(filepath.Join(b.dir, "config.json"))
		bad := map[string]func() error{
			"no config.json": func() error { return os.Remove(filepath.Join(b.dir, "config.json")) },
			"invalid JSON":   func() error { return os.WriteFile(filepath.Join(b.dir, "config.json"), []byte("{"), 0o644) },
			"ociVersion 2.0.0": func() error {
				return os.WriteFile(filepath.Join(b.dir, "config.json"), []byte(strings.Replace(string(good), `"1.0.2"`, `"2.0.0"`, 1)), 0o644)
			},
			"a missing root.path": func() error {
				return os.WriteFile(filepath.Join(b.dir, "config.json"), []byte(strings.Replace(string(good), `"path": "rootfs"`, `"path": "no-such-rootfs"`, 1)), 0o644)
			},
		}
		for _, name := range []string{"no config.json", "invalid JSON", "ociVersion 2.0.0", "a missing root.path"} {
			if err := bad[name](); err != nil {
				return fail("the bundle to be broken", "a harness error: %v", err)
			}
			res, out := b.create()
			if !out.Pass {
				return out
			}
			if res.Exit == 0 || res.TimedOut || hasPanic(res.Stderr) || strings.Count(strings.TrimSpace(res.Stderr), "\n") > 0 || res.Stderr == "" {
				return fail("create with "+name+" to fail with one line on stderr", "%s", res.Describe())
			}
			if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
				return fail("nothing left behind by a failed create", "%s after create with %s", filepath.Join(b.root, b.id), name)
			}
			if left := b.cgroupsNamed(); len(left) > 0 {
				return fail("nothing left behind by a failed create", "the cgroups %v after create with %s", left, name)
			}
			if res, _ := b.run("state", b.id); res == nil || res.Exit == 0 {
				return fail("no container after a failed create", "`state` knows %s after create with %s", b.id, name)
			}
		}
		return checkIDTaken(b, good)
	})
}

// checkIDTaken: a second create of an id fails and leaves the first
// container as it was.
func checkIDTaken(b *ociBundle, good []byte) Outcome {
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), good, 0o644); err != nil {
		return fail("the bundle to be repaired", "a harness error: %v", err)
	}
	if out := b.mustCreate(); !out.Pass {
		return out
	}
	res, out := b.create()
	if !out.Pass {
		return out
	}
	if res.Exit == 0 || hasPanic(res.Stderr) {
		return fail("a second create of the id "+b.id+" to fail", "%s", res.Describe())
	}
	if st, _, out := b.state(); !out.Pass || st.Status != "created" {
		return fail("the first container to stay created after a refused second create", "%s", out.Got)
	}
	return pass()
}
