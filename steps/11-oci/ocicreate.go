//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// "create" sets the container up and leaves it waiting: namespaces,
// cgroup, mounts, pivot_root, the process found; only the final execve
// is held back until "start". In between, the engine does what only it
// knows how to do: podman and containerd put the network namespace
// (whose path the init's /proc/PID/ns/net gives them) on their network.
//
//	create (this process)                  the init (oci-init, in the new namespaces)
//	  start the init ----------------------> waits for "go"
//	  cgroup, prestart and createRuntime hooks
//	  "go" + state ------------------------> mounts, createContainer hooks, pivot_root,
//	                                         finds the program
//	  <------------------------------------- "ready" (or "error STATUS LINE")
//	  pid file, state "created", exit         waits on start.sock for "start"

// createOpts are create's (and run's) flags.
type createOpts struct {
	id, bundle, pidFile, consoleSocket string
	preserveFDs                        int
}

// createFlags declares create's flags on f, runc's spellings; the ones
// that change nothing here are accepted so that engines can pass them.
func createFlags(f interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	Bool(string, bool, string) *bool
}, o *createOpts) {
	f.StringVar(&o.bundle, "bundle", ".", "the bundle: config.json and the root filesystem")
	f.StringVar(&o.bundle, "b", ".", "the bundle")
	f.StringVar(&o.pidFile, "pid-file", "", "where to write the init's PID")
	f.StringVar(&o.consoleSocket, "console-socket", "", "the unix socket to send the terminal's master to")
	f.IntVar(&o.preserveFDs, "preserve-fds", 0, "pass on this many fds after stderr")
	f.Bool("no-pivot", false, "accepted; stepbox always pivots")
	f.Bool("no-new-keyring", false, "accepted; stepbox makes no session keyring")
}

// createCommand is "create [flags] ID".
func createCommand(g globals, args []string) int {
	var o createOpts
	f := newFlagSet("create")
	createFlags(f, &o)
	ids, err := parseWithIDs(f, args, 1)
	if err != nil || len(ids) != 1 {
		return ociFailed(exitUsage, fmt.Errorf("usage: create [--bundle DIR] [--pid-file F] [--console-socket S] ID (%v)", err))
	}
	o.id = ids[0]
	if _, err := createContainer(g, o, false); err != nil {
		return ociFailed(statusOf(err), err)
	}
	return 0
}

// created is a container create made: its record and, for run, the init
// to wait for.
type created struct {
	rec  *record
	init *exec.Cmd
}

// createContainer creates the container; on any error it leaves nothing
// behind: no process, cgroup or state directory.
func createContainer(g globals, o createOpts, foreground bool) (c *created, err error) {
	if err := validID(o.id); err != nil {
		return nil, err
	}
	b, err := loadBundle(o.bundle)
	if err != nil {
		return nil, err
	}
	dir, err := claimID(g.root, o.id)
	if err != nil {
		return nil, err
	}
	r := &record{State: specs.State{Version: specs.Version, ID: o.id, Status: statusCreating, Bundle: b.dir,
		Annotations: b.spec.Annotations}, Config: b.spec, dir: dir}
	c = &created{rec: r}
	defer func() {
		if err != nil {
			c.undo()
			c = nil
		}
	}()
	var sync *os.File
	if c.init, sync, err = startInit(b, o, r); err != nil {
		return c, err
	}
	if err := waitReady(sync); err != nil {
		return c, err
	}
	r.Status = statusCreated
	if err := r.save(); err != nil {
		return c, err
	}
	if err := writePidFile(o.pidFile, r.Pid); err != nil {
		return c, err
	}
	if !foreground {
		_ = c.init.Process.Release() // the init outlives us: the engine (a subreaper) or PID 1 reaps it
	}
	return c, nil
}

// claimID creates the container's directory, which fails if the id is
// taken: mkdir is the lock, two creates of one id cannot both win.
func claimID(root, id string) (string, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return "", fmt.Errorf("cannot create the state root %s: %w", root, err)
	}
	dir := containerDir(root, id)
	if err := os.Mkdir(dir, 0o700); errors.Is(err, os.ErrExist) {
		return "", &exitError{exitRuntime, fmt.Errorf("container %q already exists in %s: pick another id, or delete it first", id, root)}
	} else if err != nil {
		return "", fmt.Errorf("cannot create the container's directory %s: %w", dir, err)
	}
	return dir, nil
}

// undo removes what a failed create made, in reverse: the init, the
// cgroups, the directory. Only what this create made is touched.
func (c *created) undo() {
	if c.init != nil && c.init.Process != nil {
		_ = c.init.Process.Kill()
		_, _ = c.init.Process.Wait()
	}
	removeCgroups(c.rec)
	_ = os.RemoveAll(c.rec.dir)
}

// startInit starts the init, waiting for "go", and makes the rest of its
// world: its cgroup, the hooks that run outside, then sends "go".
func startInit(b *bundle, o createOpts, r *record) (*exec.Cmd, *os.File, error) {
	listener, err := listenStart(r.dir)
	if err != nil {
		return nil, nil, err
	}
	defer listener.Close() // the init has its own copy
	ours, theirs, err := syncPair()
	if err != nil {
		return nil, nil, err
	}
	defer theirs.Close()
	cmd, err := initCommand(b, o, r.ID, theirs, listener)
	var join *cgroupJoin
	var cgs containerCgroups
	if err == nil {
		join, cgs, err = makeCgroups(b, r, cmd)
	}
	if err == nil {
		defer join.close()
		err = startInNamespaces(cmd, b.spec.Linux.Namespaces, join)
	}
	if err != nil {
		ours.Close()
		return nil, nil, err
	}
	if err := prepareInit(b, r, cmd.Process.Pid, cgs); err != nil {
		ours.Close()
		return cmd, nil, err
	}
	return cmd, ours, sendGo(ours, r)
}

// makeCgroups makes the container's cgroups before the init exists, and
// opens what it needs to be born in them (cgroupJoin): the v2 one goes
// to the clone.
func makeCgroups(b *bundle, r *record, cmd *exec.Cmd) (*cgroupJoin, containerCgroups, error) {
	cgs, dirs, made, err := setupCgroups(b.spec, r.ID)
	r.Cgroups, r.Created = dirs, made // even after a failure: undo removes them
	if err != nil {
		return nil, cgs, err
	}
	join, err := openCgroupJoin(r.Cgroups)
	if err != nil {
		return nil, cgs, err
	}
	join.bornIn(cmd.SysProcAttr)
	return join, cgs, nil
}

// prepareInit records the init, writes its cgroups' limits and runs the
// hooks that run outside the container while the init waits.
func prepareInit(b *bundle, r *record, pid int, cgs containerCgroups) (err error) {
	r.Pid = pid
	if r.InitStart, err = processStart(pid); err != nil {
		return fmt.Errorf("the container's init ended at once: %w", err)
	}
	if err := r.save(); err != nil {
		return err
	}
	if err := cgs.writeLimits(b.spec.Linux.Resources); err != nil {
		return err
	}
	if err := runHooks("prestart", b.spec.Hooks, r); err != nil {
		return err
	}
	return runHooks("createRuntime", b.spec.Hooks, r)
}

// syncPair is a socket pair between create and the init: one line each
// way, both ends close-on-exec except the one the init inherits. Our end
// is non-blocking, which os.NewFile needs to make it pollable: only then
// does waitReady's deadline hold.
func syncPair() (ours, theirs *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err == nil {
		err = unix.SetNonblock(fds[0], true)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create the sync socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync (init)"), nil
}

// listenStart makes start.sock, where the init will wait for "start".
// The socket is bound by a relative name from inside the directory:
// a unix socket's path may be at most 107 bytes, and ROOT/ID can be
// longer (containerd's ids are 64 hex digits).
func listenStart(dir string) (*os.File, error) {
	var file *os.File
	err := inDir(dir, func() error {
		l, err := net.ListenUnix("unix", &net.UnixAddr{Name: "start.sock", Net: "unix"})
		if err != nil {
			return err
		}
		l.SetUnlinkOnClose(false) // the init listens on after we close our copy
		defer l.Close()
		file, err = l.File()
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s/start.sock: %w", dir, err)
	}
	return file, nil
}

// inDir runs fn with dir as the working directory, then goes back.
func inDir(dir string, fn func() error) error {
	back, err := os.Getwd()
	if err != nil {
		return err
	}
	if err := os.Chdir(dir); err != nil {
		return err
	}
	defer os.Chdir(back)
	return fn()
}

// initCommand is the init's command line: this program again, as
// oci-init, with the fds it needs after the ones --preserve-fds keeps.
func initCommand(b *bundle, o createOpts, id string, sync, listener *os.File) (*exec.Cmd, error) {
	cmd := exec.Command("/proc/self/exe")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// One P from the start (see ociInit), with no call to stop the world
	// for it. The container's process gets the config's environment, not
	// this one.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	for i := range o.preserveFDs {
		cmd.ExtraFiles = append(cmd.ExtraFiles, os.NewFile(uintptr(3+i), "preserved"))
	}
	fd := func(f *os.File) string {
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
		return strconv.Itoa(2 + len(cmd.ExtraFiles))
	}
	cmd.Args = append(logFlags(), "oci-init", "--sync", fd(sync), "--start", fd(listener),
		"--bundle", b.dir, "--id", id, "--preserve-fds", strconv.Itoa(o.preserveFDs))
	if o.consoleSocket != "" {
		console, err := dialConsole(o.consoleSocket)
		if err != nil {
			return nil, err
		}
		cmd.Args = append(cmd.Args, "--console", fd(console))
	}
	cmd.SysProcAttr = initAttr(b.spec)
	return cmd, nil
}

// The main goroutine keeps the main thread for the whole run. Go never
// ends the main thread, even when a goroutine that locked it exits (it
// parks it instead), so a throwaway thread (startInNamespaces) must
// never be the main thread: it would stay in the container's v1
// cgroups for as long as create runs, and delete, which kills whatever
// is in them, would kill create. Locked here, in an init function, the
// main goroutine runs main on the main thread, and no other goroutine
// ever runs there. (Found by 400 runs in a row: about one in a hundred
// was killed so.)
func init() {
	runtime.LockOSThread()
}

// startInNamespaces starts the init. New namespaces come from the
// clone flags; a namespace given by path is joined first, by this
// thread, with setns(2), so that the clone inherits it, and so are the
// v1 cgroups (cgroupJoin). That thread is locked and never unlocked: Go
// ends it with its goroutine, and no other goroutine ever runs in those
// namespaces and cgroups.
func startInNamespaces(cmd *exec.Cmd, namespaces []specs.LinuxNamespace, join *cgroupJoin) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		for _, ns := range joinOrder(namespaces) {
			if err := joinNamespace(ns); err != nil {
				done <- err
				return
			}
		}
		if err := join.joinThread(); err != nil {
			done <- err
			return
		}
		if err := cmd.Start(); err != nil {
			done <- fmt.Errorf("cannot start the container's init: %w", err)
			return
		}
		done <- nil
	}()
	return <-done
}

// joinOrder is the namespaces given by path, the mount namespace last:
// once in it, a path such as /proc/PID/ns/net is looked up in its files,
// and the next join would open the wrong one, or none.
func joinOrder(namespaces []specs.LinuxNamespace) []specs.LinuxNamespace {
	var order, mount []specs.LinuxNamespace
	for _, ns := range namespaces {
		switch {
		case ns.Path == "":
		case ns.Type == specs.MountNamespace:
			mount = append(mount, ns)
		default:
			order = append(order, ns)
		}
	}
	return append(order, mount...)
}

// joinNamespace enters the namespace at ns.Path on this thread, whose
// clone inherits it: net, ipc, uts, cgroup, pid (which setns makes the
// namespace of the thread's future children) and mount. The user
// namespace cannot be joined, and checkSpec refuses it: the kernel lets
// only a single-threaded process into one, and every Go program has
// several threads. runc enters it from C code that runs before the Go
// runtime starts (nsexec.c), which needs cgo.
func joinNamespace(ns specs.LinuxNamespace) error {
	fd, err := unix.Open(ns.Path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open the %s namespace %s: %w", ns.Type, ns.Path, err)
	}
	defer unix.Close(fd)
	if ns.Type == specs.MountNamespace {
		if hostMountNamespace(fd) {
			return fmt.Errorf("will not join the mount namespace %s: it is the runtime's own or PID 1's, where the container's mounts and pivot_root would land on the host; give the container a mount namespace of its own", ns.Path)
		}
		err = joinMountNamespace(fd)
	} else {
		err = unix.Setns(fd, int(namespaceFlag[ns.Type]))
	}
	if err != nil {
		return fmt.Errorf("cannot join the %s namespace %s: %w", ns.Type, ns.Path, err)
	}
	return nil
}

// joinMountNamespace enters the mount namespace fd on this thread. The
// kernel refuses (EINVAL) a caller that shares its root and working
// directory (its fs_struct) with another thread, as all of a Go
// program's threads do: unshare(CLONE_FS) first gives this thread its
// own copy, and then setns(2) lets it in, alone. The thread's root and
// working directory become the namespace's root.
func joinMountNamespace(fd int) error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare(CLONE_FS): %w", err)
	}
	return unix.Setns(fd, unix.CLONE_NEWNS)
}

// hostMountNamespace reports whether the mount namespace fd is the
// runtime's own or PID 1's: a container must never join those, since its
// root is built in the namespace it joins, mounts and pivot_root and all.
func hostMountNamespace(fd int) bool {
	return sameNamespace(fd, "/proc/thread-self/ns/mnt") || sameNamespace(fd, "/proc/1/ns/mnt")
}

// sameNamespace reports whether the namespace fd is the one at path.
func sameNamespace(fd int, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// sendGo tells the init its state (for the hooks it runs) and to go on.
func sendGo(sync *os.File, r *record) error {
	data, _ := json.Marshal(r.specState()) // plain strings and ints always encode
	if _, err := fmt.Fprintf(sync, "%s\n", data); err != nil {
		return fmt.Errorf("cannot tell the container's init to go on: %w", err)
	}
	return nil
}

// waitReady reads the init's answer: "ready", or "error STATUS LINE",
// the init's own error with the exit status create should fail with.
func waitReady(sync *os.File) error {
	defer sync.Close()
	_ = sync.SetReadDeadline(time.Now().Add(time.Minute))
	line, err := bufio.NewReader(sync).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "ready" {
		return nil
	}
	if rest, ok := strings.CutPrefix(line, "error "); ok {
		code, msg, _ := strings.Cut(rest, " ")
		status, _ := strconv.Atoi(code)
		return &exitError{status, errors.New(msg)}
	}
	return fmt.Errorf("the container's init ended before it was ready (%v)", err)
}

// writePidFile writes the init's PID where the engine asked: conmon
// and the shim read it as soon as create returns, to watch the process.
// Written to a temporary name and renamed, so it is never seen half
// written.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %q: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("cannot write the pid file %s: %w", abs, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write the pid file %s: %w", abs, err)
	}
	return nil
}

// exitError is an error with the exit status it should end the runtime
// with: 127 for a program not found, 126 for one that cannot run.
type exitError struct {
	status int
	err    error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// statusOf is the exit status for err: its own, else 125.
func statusOf(err error) int {
	var e *exitError
	if errors.As(err, &e) && e.status > 0 {
		return e.status
	}
	return exitRuntime
}

// logFlags are the global flags that make the init log where create
// does: "stepbox --log FILE --log-format F [--debug]".
func logFlags() []string {
	args := []string{"stepbox"}
	if ociLog.path != "" {
		args = append(args, "--log", ociLog.path)
	}
	if ociLog.json {
		args = append(args, "--log-format", "json")
	}
	if ociLog.debug {
		args = append(args, "--debug")
	}
	return args
}
