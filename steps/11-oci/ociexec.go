//go:build linux

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// "exec" starts one more process in a running container. runc's
// nsexec.c (C, run before the Go runtime starts) setns(2)es into every
// namespace of the container's process. A Go program has several
// threads, and the kernel lets a multithreaded process into no user
// namespace, and into a mount namespace only a thread that shares its
// root and working directory with no other. So stepbox's exec:
//
//   - joins, on one locked thread, the namespaces a thread can join
//     alone and a clone inherits: net, ipc, uts, cgroup, and pid (for
//     the thread's children), then clones the new process from it;
//   - puts the new process in the container's cgroups before it runs;
//   - has the new process, on its one locked thread, enter the
//     container's mount namespace (unshare(CLONE_FS), then setns), and
//     chroot to /proc/PID/root, the container's root as its process sees
//     it: that is all a container without a mount namespace has. It
//     joins there, not here, so that /proc/self/exe, which starts it, is
//     still looked up in the runtime's files;
//   - refuses a container with a user namespace: there is no way into
//     one from Go, and a process outside it would be the host's root.

// execOpts are exec's flags.
type execOpts struct {
	process, pidFile, consoleSocket, cwd, user string
	detach, tty, noNewPrivs                    bool
	env, caps                                  listFlag
}

// listFlag is a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// execFlags declares exec's flags, runc's spellings.
func execFlags(f *flag.FlagSet, o *execOpts) {
	for _, name := range []string{"process", "p"} {
		f.StringVar(&o.process, name, "", "a process.json to run")
	}
	for _, name := range []string{"detach", "d"} {
		f.BoolVar(&o.detach, name, false, "return once the process runs")
	}
	for _, name := range []string{"tty", "t"} {
		f.BoolVar(&o.tty, name, false, "give the process a terminal")
	}
	for _, name := range []string{"env", "e"} {
		f.Var(&o.env, name, "KEY=VALUE, repeatable")
	}
	for _, name := range []string{"user", "u"} {
		f.StringVar(&o.user, name, "", "UID[:GID]")
	}
	f.StringVar(&o.pidFile, "pid-file", "", "where to write the process's PID")
	f.StringVar(&o.consoleSocket, "console-socket", "", "where to send the terminal's master")
	f.StringVar(&o.cwd, "cwd", "", "the working directory")
	f.Var(&o.caps, "cap", "a capability to add, repeatable")
	f.BoolVar(&o.noNewPrivs, "no-new-privs", false, "set no_new_privs")
	f.Int("preserve-fds", 0, "accepted")
	f.String("process-label", "", "accepted and ignored: no SELinux")
	f.String("apparmor", "", "accepted and ignored: no AppArmor")
	f.Bool("ignore-paused", false, "accepted")
}

// ociExecCommand is "exec [flags] ID [CMD ARG...]".
func ociExecCommand(g globals, args []string) int {
	var o execOpts
	f := newFlagSet("exec")
	execFlags(f, &o)
	rest, err := parseWithIDs(f, args, 1)
	if err != nil || len(rest) == 0 {
		return ociFailed(exitUsage, fmt.Errorf("usage: exec [--process F | CMD ARG...] [--detach] [--pid-file F] ID (%v)", err))
	}
	r, err := loadRecord(g.root, rest[0])
	if err != nil {
		return ociFailed(exitRuntime, err)
	}
	p, err := execProcess(r, o, rest[1:])
	if err != nil {
		return ociFailed(exitUsage, err)
	}
	status, err := execIn(r, p, o)
	if err != nil {
		return ociFailed(statusOf(err), err)
	}
	return status
}

// execProcess is the process to start: --process's file whole, or the
// container's process with exec's command and flags.
func execProcess(r *record, o execOpts, command []string) (*specs.Process, error) {
	if o.process != "" {
		data, err := os.ReadFile(o.process)
		if err != nil {
			return nil, fmt.Errorf("cannot read --process %s: %w", o.process, err)
		}
		p := &specs.Process{}
		if err := json.Unmarshal(data, p); err != nil {
			return nil, fmt.Errorf("--process %s is not a valid process JSON: %w", o.process, err)
		}
		if len(p.Args) == 0 {
			return nil, fmt.Errorf("--process %s has no args", o.process)
		}
		return p, nil
	}
	if len(command) == 0 {
		return nil, errors.New("exec needs a command, or --process FILE")
	}
	p := *r.Config.Process
	p.Args, p.Terminal = command, o.tty
	p.Env = append(append([]string(nil), p.Env...), o.env...)
	if o.cwd != "" {
		p.Cwd = o.cwd
	}
	p.NoNewPrivileges = p.NoNewPrivileges || o.noNewPrivs
	if o.user != "" {
		uid, gid, _ := strings.Cut(o.user, ":")
		u, err1 := strconv.ParseUint(uid, 10, 32)
		gr, err2 := strconv.ParseUint(cmpOr(gid, "0"), 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("--user %q: use UID[:GID], numbers", o.user)
		}
		p.User = specs.User{UID: uint32(u), GID: uint32(gr)}
	}
	return &p, nil
}

// cmpOr is s, or def when s is empty.
func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// execIn starts p in the container and, unless detached, waits for it.
func execIn(r *record, p *specs.Process, o execOpts) (int, error) {
	if r.current() != statusRunning {
		return 0, fmt.Errorf("container %q is %s, not running: exec needs a running container", r.ID, r.current())
	}
	if wants(r.Config, specs.UserNamespace) {
		return 0, fmt.Errorf("container %q has a user namespace: a Go program cannot join one (setns needs a single thread), so stepbox cannot exec into it", r.ID)
	}
	cmd, release, err := execProcessCommand(r, p, o)
	if err != nil {
		return 0, err
	}
	err = startExec(r, cmd)
	for _, f := range cmd.ExtraFiles {
		f.Close() // the process has its own copies, or never will
	}
	if err != nil {
		release.Close()
		return 0, err
	}
	if err := placeExec(r, cmd.Process.Pid, release); err != nil {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
		return 0, err
	}
	if err := writePidFile(o.pidFile, cmd.Process.Pid); err != nil {
		return 0, err
	}
	if o.detach {
		_ = cmd.Process.Release() // the engine, a subreaper, reaps it
		return 0, nil
	}
	signals := catchSignals()
	defer signal.Stop(signals)
	go forwardSignals(signals, cmd.Process)
	return waitForChild(cmd)
}

// execProcessCommand prepares "oci-exec": the process on a pipe, the
// container's root and mount namespace as fds, a pipe to wait on until
// it is in the cgroup. Its ExtraFiles are the caller's to close once it
// has started.
func execProcessCommand(r *record, p *specs.Process, o execOpts) (*exec.Cmd, *os.File, error) {
	root, err := os.Open("/proc/" + strconv.Itoa(r.Pid) + "/root")
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the root of container %q: %w", r.ID, err)
	}
	mnt, err := os.Open("/proc/" + strconv.Itoa(r.Pid) + "/ns/mnt")
	if err != nil {
		root.Close()
		return nil, nil, fmt.Errorf("cannot open the mount namespace of container %q: %w", r.ID, err)
	}
	procRead, procWrite, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	data, _ := json.Marshal(struct {
		Process *specs.Process      `json:"process"`
		Seccomp *specs.LinuxSeccomp `json:"seccomp"`
	}{p, r.Config.Linux.Seccomp}) // the spec's own types always encode
	go func() { _, _ = procWrite.Write(data); procWrite.Close() }()
	syncRead, syncWrite, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command("/proc/self/exe", "oci-exec")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{procRead, syncRead, root, mnt} // 3, 4, 5, 6
	if o.consoleSocket != "" {
		console, err := dialConsole(o.consoleSocket)
		if err != nil {
			syncWrite.Close()
			return nil, nil, err
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, console) // 7
	}
	return cmd, syncWrite, nil
}

// startExec clones the process from a thread that joined the
// container's namespaces (those that differ from ours).
func startExec(r *record, cmd *exec.Cmd) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: Go ends the thread with the goroutine
		for _, t := range []specs.LinuxNamespaceType{specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.CgroupNamespace, specs.PIDNamespace} {
			if err := joinIfOther(r.Pid, t); err != nil {
				done <- err
				return
			}
		}
		done <- cmd.Start()
	}()
	if err := <-done; err != nil {
		return fmt.Errorf("cannot start a process in container %q: %w", r.ID, err)
	}
	return nil
}

// nsFile names each namespace in /proc/PID/ns.
var nsFile = map[specs.LinuxNamespaceType]string{specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc",
	specs.UTSNamespace: "uts", specs.CgroupNamespace: "cgroup", specs.PIDNamespace: "pid_for_children"}

// joinIfOther joins pid's namespace of type t if it is not this thread's.
func joinIfOther(pid int, t specs.LinuxNamespaceType) error {
	theirs := fmt.Sprintf("/proc/%d/ns/%s", pid, strings.TrimSuffix(nsFile[t], "_for_children"))
	ours := "/proc/thread-self/ns/" + nsFile[t]
	a, errA := os.Stat(theirs)
	b, errB := os.Stat(ours)
	if errA != nil || errB != nil {
		return fmt.Errorf("cannot compare namespaces %s and %s: %v %v", theirs, ours, errA, errB)
	}
	if os.SameFile(a, b) {
		return nil
	}
	return joinNamespace(specs.LinuxNamespace{Type: t, Path: theirs})
}

// placeExec moves the new process into the container's cgroups, then
// lets it go on.
func placeExec(r *record, pid int, release *os.File) error {
	defer release.Close()
	for _, dir := range r.Cgroups {
		if err := writeFile(dir+"/cgroup.procs", strconv.Itoa(pid)); err != nil {
			return err
		}
	}
	if _, err := release.Write([]byte{0}); err != nil {
		return fmt.Errorf("cannot release the exec process: %w", err)
	}
	return nil
}

// ociExecChild is the new process, in the container's namespaces: it
// enters the container's mount namespace and root, becomes process.user
// with its capabilities and filter, and execs the program. It runs on
// one locked thread to its end: the mount namespace it joins is that
// thread's, and execve keeps only it.
func ociExecChild(_ []string) int {
	runtime.LockOSThread()
	var in struct {
		Process *specs.Process      `json:"process"`
		Seccomp *specs.LinuxSeccomp `json:"seccomp"`
	}
	data, err := io.ReadAll(os.NewFile(3, "process"))
	if err == nil {
		err = json.Unmarshal(data, &in)
	}
	if err != nil || in.Process == nil {
		return failed(exitRuntime, fmt.Errorf("oci-exec is internal: exec starts it (%v)", err))
	}
	if _, err := io.ReadFull(os.NewFile(4, "sync"), make([]byte, 1)); err != nil {
		return failed(exitRuntime, fmt.Errorf("exec gave up before the process was in the container's cgroup: %w", err))
	}
	if err := enterMountNamespace(6); err != nil {
		return failed(exitRuntime, err)
	}
	if err := enterRoot(5); err != nil {
		return failed(exitRuntime, err)
	}
	spec := &specs.Spec{Process: in.Process, Linux: &specs.Linux{Seccomp: in.Seccomp}}
	return becomeProcess(spec)
}

// enterMountNamespace joins the container's mount namespace, given as
// an open /proc/PID/ns/mnt, unless it is already this thread's (a
// container without a mount namespace shares the runtime's).
func enterMountNamespace(fd int) error {
	defer unix.Close(fd)
	if sameNamespace(fd, "/proc/thread-self/ns/mnt") {
		return nil
	}
	if err := joinMountNamespace(fd); err != nil {
		return fmt.Errorf("cannot join the container's mount namespace: %w", err)
	}
	return nil
}

// enterRoot chroots into the container's root, given as an open
// directory: fchdir there, then chroot("."). In the container's mount
// namespace that is the root setns already gave; in a container without
// one, it is the only way in.
func enterRoot(fd int) error {
	if err := unix.Fchdir(fd); err != nil {
		return fmt.Errorf("cannot enter the container's root: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("cannot chroot into the container's root: %w", err)
	}
	unix.Close(fd)
	return unix.Chdir("/")
}

// becomeProcess sets the terminal, limits and identity, then execs.
func becomeProcess(spec *specs.Spec) int {
	p := spec.Process
	for _, fd := range []int{3, 4} {
		unix.Close(fd)
	}
	if p.Terminal {
		unix.CloseOnExec(7)
		if err := setupConsole(7, p.ConsoleSize); err != nil {
			return failed(exitRuntime, err)
		}
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return failed(exitRuntime, err)
	}
	path, status, err := findProgram(p)
	if err != nil {
		return failed(status, err)
	}
	if err := finalize(spec); err != nil {
		return failed(exitRuntime, err)
	}
	err = unix.Exec(path, p.Args, p.Env)
	return failed(exitCannotExec, fmt.Errorf("cannot execute %q: %w", p.Args[0], err))
}
