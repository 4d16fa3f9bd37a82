//go:build linux

// Step 05 of stepbox: the container gets a cgroup with a CPU quota, and
// the parent removes it when the container ends.
//
//	stepbox run [--rootfs DIR] [--hostname NAME] [--cpus N] CMD [ARG...]
//
// "run" checks the rootfs and starts a second copy of this same program,
// /proc/self/exe, as "child" in new UTS, PID, mount and IPC namespaces.
// The child waits on a socket while the parent creates a cgroup, sets its
// CPU quota and moves the child into it (on v1 the child moves itself
// in); then the child sets the hostname, makes its mounts private, pivots
// into the rootfs, detaches the old root, mounts a fresh /proc and a
// minimal /dev and replaces itself with CMD, found inside the rootfs. The
// parent forwards signals, waits, and removes the cgroup.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// usage ends the error line when the command line is malformed.
const usage = "stepbox run [--rootfs DIR] [--hostname NAME] [--cpus N] CMD [ARG...]"

// Exit statuses, following docker's convention.
const (
	exitUsage      = 2   // the command line is wrong
	exitRuntime    = 125 // stepbox itself failed
	exitCannotExec = 126 // the command exists but cannot be executed
	exitNotFound   = 127 // the command does not exist
)

// config is what "run" was asked to do. The parent passes the same flags
// on to the child, which parses them again with parseRun, so both
// processes agree on it.
type config struct {
	rootfs   string   // the container's root filesystem; absolute once the parent checked it
	hostname string   // the container's hostname
	cpus     float64  // the CPU quota, in CPUs (0.5 = half of one CPU)
	command  []string // the command and its arguments
}

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

// dispatch runs the subcommand and returns the exit status.
func dispatch(args []string) int {
	if len(args) == 0 {
		return failed(exitUsage, withUsage(errors.New("missing subcommand")))
	}
	switch args[0] {
	case "run":
		return parent(args[1:])
	case "child":
		return child(args[1:])
	default:
		return failed(exitUsage, withUsage(fmt.Errorf("unknown subcommand %q", args[0])))
	}
}

// parseRun parses "[flags] CMD [ARG...]" for both run and child. Parsing
// stops at CMD, so in "run /bin/sh -c 'echo hi'" the -c belongs to sh.
func parseRun(args []string) (config, error) {
	var cfg config
	flags := flag.NewFlagSet("run", flag.ContinueOnError)
	flags.SetOutput(io.Discard) // we print our own one-line errors
	flags.StringVar(&cfg.rootfs, "rootfs", "./rootfs", "the container's root filesystem")
	flags.StringVar(&cfg.hostname, "hostname", "container", "the container's hostname")
	cpus := flags.String("cpus", "0.5", "the CPU quota, in CPUs")
	if err := flags.Parse(args); err != nil {
		return config{}, withUsage(err)
	}
	cfg.command = flags.Args()
	if len(cfg.command) == 0 {
		return config{}, withUsage(errors.New("missing command to run"))
	}
	if len(cfg.hostname) == 0 || len(cfg.hostname) > 64 {
		return config{}, fmt.Errorf("--hostname %q must be 1 to 64 bytes long", cfg.hostname)
	}
	var err error
	if cfg.cpus, err = parseCPUs(*cpus); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// parseCPUs checks a --cpus value: a number of CPUs from 0.01 (a quota
// of 1ms per 100ms period, the kernel's minimum) up to the number of
// CPUs this machine has.
func parseCPUs(value string) (float64, error) {
	cpus, err := strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(cpus) || math.IsInf(cpus, 0) {
		return 0, fmt.Errorf("--cpus %q is not a number of CPUs like 0.5", value)
	}
	if cpus < 0.01 {
		return 0, fmt.Errorf("--cpus %q is below the minimum of 0.01 CPUs", value)
	}
	if n := runtime.NumCPU(); cpus > float64(n) {
		return 0, fmt.Errorf("--cpus %q is more than the %d CPUs of this machine", value, n)
	}
	return cpus, nil
}

// ---- The parent: "stepbox run" ----

// parent checks the command line, starts the child and waits for it.
func parent(args []string) int {
	cfg, err := parseRun(args)
	if err != nil {
		return failed(exitUsage, err)
	}
	cfg.rootfs, err = resolveRootfs(cfg.rootfs)
	if err != nil {
		return failed(exitRuntime, err)
	}
	status, err := runContainer(cfg)
	if err != nil {
		return failed(exitRuntime, err)
	}
	return status
}

// resolveRootfs checks the rootfs before anything is created, so a typo
// costs nothing, and returns its absolute path: the child's mounts and
// error lines then name exactly one directory. Errors quote the path as
// the user gave it.
func resolveRootfs(path string) (string, error) {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("rootfs %q not found: run \"make rootfs\" or pass --rootfs DIR", path)
	}
	if err != nil {
		return "", fmt.Errorf("cannot use rootfs %q: %w", path, err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("rootfs %q is not a directory: pass --rootfs DIR", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("cannot use rootfs %q: %w", path, err)
	}
	return abs, nil
}

// runContainer re-executes this program as "child" and waits for it.
//
// The child starts blocked on a socket. Meanwhile the parent sets up the
// container's host side (hostSide: here, its cgroup, into which it moves
// the child); only then does it send the byte that lets the child go on
// (on cgroup v1 with the cgroup's tasks file: there the child moves
// itself in, before anything else). So the command never runs a moment
// without its limit, and the parent itself never joins the cgroup.
// Whatever happens next, the host side is removed at the end.
//
// There is one cleanup for every failed setup, deferred once, as runc's
// initProcess.start has: kill the child, which never ran the command,
// then (the defer before it) remove what was made of the host side.
func runContainer(cfg config) (status int, err error) {
	var host hostSide
	defer func() { err = host.remove(err) }()
	cmd := childCommand(cfg)
	syncRead, syncWrite, err := syncSocket()
	if err != nil {
		return 0, err
	}
	defer syncWrite.Close()
	cmd.ExtraFiles = []*os.File{syncRead} // fd 3 in the child, after stdin, stdout, stderr

	signals := catchSignals()
	defer signal.Stop(signals)
	// Pdeathsig fires when the *thread* that started the child ends, not
	// the process (go.dev/issue/27505): stay on it until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err = startChild(cmd)
	syncRead.Close() // the child has its own copy now
	if err != nil {
		return 0, err
	}
	go forwardSignals(signals, cmd.Process)
	defer func() {
		if err != nil && cmd.ProcessState == nil {
			killChild(cmd) // a setup failed: the command never ran
		}
	}()

	if err := host.setUp(cfg, cmd); err != nil {
		return 0, err
	}
	if err := releaseChild(syncWrite, host.cgroup); err != nil {
		return 0, err
	}
	return waitForChild(cmd)
}

// childCommand is the child: /proc/self/exe is the running binary, so
// this works however stepbox was started (go run, a relative path, a
// renamed copy).
func childCommand(cfg config) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", childArgs(cfg)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// clone(2) creates the child in these new namespaces.
		Cloneflags: unix.CLONE_NEWUTS | // its own hostname
			unix.CLONE_NEWPID | // its own process IDs: the command will be PID 1
			unix.CLONE_NEWNS | // its own mount table
			unix.CLONE_NEWIPC, // its own System V IPC and POSIX message queues
		// If the runtime is SIGKILLed, the kernel kills the container
		// too, rather than leave it running unsupervised.
		Pdeathsig: unix.SIGKILL,
	}
	return cmd
}

// hostSide is what the parent makes outside the container for it, to
// remove once the child is gone. Each host-side concern is a field, a
// call in setUp and one in remove: later steps add theirs here.
type hostSide struct {
	cgroup *cgroup // nil until made
}

// setUp prepares the host side while the child waits on the sync socket.
// The child's Go runtime is starting meanwhile, so this work overlaps
// with it instead of adding to it.
func (h *hostSide) setUp(cfg config, cmd *exec.Cmd) error {
	return h.setUpCgroup(cfg, cmd)
}

// setUpCgroup creates the container's cgroup, sets its CPU quota and
// moves the child in (on cgroup v1, readies the file the child moves
// itself in through: moveIn). h.cgroup is set as soon as the cgroup
// exists, so that remove finds it if a later write fails.
func (h *hostSide) setUpCgroup(cfg config, cmd *exec.Cmd) error {
	cg, err := newCgroup()
	if err != nil {
		return err
	}
	h.cgroup = cg
	if err := cg.setCPUQuota(cfg.cpus); err != nil {
		return err
	}
	return cg.moveIn(cmd.Process.Pid)
}

// remove takes away what setUp made, also after a half-done setUp. A
// setup error, if there was one, is the one to report.
func (h *hostSide) remove(err error) error {
	if cg := h.cgroup; cg != nil {
		if removeErr := cg.remove(); removeErr != nil && err == nil {
			err = removeErr
		}
	}
	return err
}

// startChild starts the child in its new namespaces. Creating a
// namespace needs CAP_SYS_ADMIN, so without root clone(2) fails with
// EPERM: say so, with the fix.
func startChild(cmd *exec.Cmd) error {
	err := cmd.Start()
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("cannot create namespaces: %w: run as root (sudo)", unix.EPERM)
	}
	if err != nil {
		return fmt.Errorf("cannot start the child process: %w", err)
	}
	return nil
}

// catchSignals makes the signals that usually end a program (Ctrl-C,
// kill, a closed terminal, Ctrl-\) arrive on a channel instead, so the
// runtime lives on to remove the cgroup. It must not ignore them
// (signal.Ignore): an ignored signal stays ignored through exec, and the
// container's command would inherit that.
func catchSignals() chan os.Signal {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	return signals
}

// forwardSignals passes each caught signal on to the child, which by
// then is (or is about to become) the command, so "kill RUNTIME" still
// reaches the container. Note that a namespace's PID 1 receives only the
// signals it has a handler for: a bare "sleep" as PID 1 shrugs off
// SIGTERM, as in docker without --init.
func forwardSignals(signals chan os.Signal, child *os.Process) {
	for sig := range signals {
		_ = child.Signal(sig) // fails only once the child is gone: nothing left to tell
	}
}

// syncSocket makes the socket pair the child waits on: syncRead goes to
// the child as fd 3, syncWrite stays here. A pipe would do to send the
// byte that releases the child; a Unix socket can also carry an open
// file, the cgroup's, with it (releaseChild).
func syncSocket() (syncRead, syncWrite *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot create the sync socket: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "sync socket"), os.NewFile(uintptr(fds[1]), "sync socket"), nil
}

// releaseChild sends the byte that waitForParent is blocked on: the
// host side is ready, the child may go on. With it, as SCM_RIGHTS, goes
// a v1 cgroup's tasks file, through which the child moves itself in
// (moveIn, joinCgroup); otherwise (cgroup v2, or not root) the byte
// alone.
func releaseChild(syncWrite *os.File, cg *cgroup) error {
	var rights []byte
	if cg != nil && cg.join != nil {
		rights = unix.UnixRights(int(cg.join.Fd()))
	}
	if err := unix.Sendmsg(int(syncWrite.Fd()), []byte{0}, rights, nil, 0); err != nil {
		return fmt.Errorf("cannot release the child process: %w", err)
	}
	return nil
}

// killChild kills the child after a failed setup, before the command ran,
// and reaps it. Sent from outside, SIGKILL reaches a namespace's PID 1
// even without a handler. Errors are moot: we are failing anyway.
func killChild(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// childArgs rebuilds the command line for the child from cfg. The "--"
// ends the flags, so a command that starts with "-" stays the command.
func childArgs(cfg config) []string {
	args := []string{
		"child",
		"--rootfs=" + cfg.rootfs,
		"--hostname=" + cfg.hostname,
		"--cpus=" + strconv.FormatFloat(cfg.cpus, 'g', -1, 64),
		"--",
	}
	return append(args, cfg.command...)
}

// waitForChild waits for the child and turns how it ended into our exit
// status, the way a shell does: its exit code, or 128+N if signal N
// killed it. Failures inside the child have already been printed there.
func waitForChild(cmd *exec.Cmd) (int, error) {
	err := cmd.Wait()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		return 0, fmt.Errorf("cannot wait for the child process: %w", err)
	}
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return cmd.ProcessState.ExitCode(), nil
}

// ---- The child: "stepbox child", started by the parent ----

// child prepares the container, then becomes the command.
func child(args []string) int {
	if err := waitForParent(); err != nil {
		return failed(exitRuntime, err)
	}
	cfg, err := parseRun(args)
	if err != nil {
		return failed(exitRuntime, err)
	}
	if err := setupContainer(cfg); err != nil {
		return failed(exitRuntime, err)
	}
	return execCommand(cfg.command)
}

// waitForParent blocks until the parent has made the cgroup, then, on v1,
// moves this process into it; it must be the child's first action. The
// parent passed one end of a socket pair as fd 3 and sends one byte when
// ready, with the cgroup's tasks file on cgroup v1. EOF without the byte
// means the parent gave up (it reports why). The socket is closed here,
// so the command does not inherit fd 3; the join file came close-on-exec,
// and joinCgroup closes it.
func waitForParent() error {
	syncSocket := os.NewFile(3, "sync socket")
	defer syncSocket.Close()
	oob := make([]byte, unix.CmsgSpace(4)) // room for one fd
	n, oobn, _, _, err := unix.Recvmsg(int(syncSocket.Fd()), make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
	if err == nil && n == 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return fmt.Errorf("the parent did not finish setting up the container: %w", err)
	}
	if oobn == 0 {
		return nil // no file: cgroup v2 (the parent moved us in), or not root
	}
	join, err := receivedFile(oob[:oobn])
	if err != nil {
		return err
	}
	return joinCgroup(join)
}

// receivedFile returns the file descriptor an SCM_RIGHTS message
// brought: the kernel installed it in this process, as a new number.
func receivedFile(oob []byte) (int, error) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("the parent sent no cgroup file: %v", err)
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("the parent sent no cgroup file: %v", err)
	}
	return fds[0], nil
}

// setupContainer runs in the child, before the command replaces it.
// Each step adds its calls here.
func setupContainer(cfg config) error {
	if err := setHostname(cfg.hostname); err != nil {
		return err
	}
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	if err := bindMountRootfs(cfg.rootfs); err != nil {
		return err
	}
	if err := pivotRoot(cfg.rootfs); err != nil {
		return err
	}
	if err := detachOldRoot(); err != nil {
		return err
	}
	if err := mountProc(); err != nil {
		return err
	}
	if err := mountDev(); err != nil {
		return err
	}
	if err := makeDevices(); err != nil {
		return err
	}
	return nil
}

// setHostname sets the hostname of the child's new UTS namespace. The
// host keeps its own: that is what CLONE_NEWUTS bought us. Without it,
// this call would rename the whole machine.
func setHostname(name string) error {
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("cannot set hostname %q: %w", name, err)
	}
	return nil
}

// makeMountsPrivate must come before any other mount. CLONE_NEWNS gave
// the child a copy of the host's mount table, but copies of shared mounts
// stay shared: on systemd hosts / is shared, and a mount made here would
// propagate back to the host. Making every mount under / private
// (recursively) cuts that link, in this namespace only.
func makeMountsPrivate() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("cannot make / a private mount: %w", err)
	}
	return nil
}

// bindMountRootfs bind-mounts the rootfs onto itself. pivot_root(2) needs
// the new root to be a mount point, and a plain directory is not one
// until something is mounted on it. MS_REC brings along any mounts
// already inside the rootfs.
func bindMountRootfs(rootfs string) error {
	if err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("cannot bind-mount rootfs %q onto itself: %w", rootfs, err)
	}
	return nil
}

// pivotRoot makes the rootfs our /. pivot_root(new_root, put_old) mounts
// new_root as / and moves the old root to put_old. Passing "." for both,
// from inside the rootfs, is a trick runc learned from LXC: the old root
// ends up mounted on top of the new one, not in a directory, so there is no
// "oldroot" directory to create now or remove later, and containers
// sharing a rootfs cannot race on one. It fails with EINVAL if / is a
// shared mount, which is one more reason makeMountsPrivate comes first.
func pivotRoot(rootfs string) error {
	if err := unix.Chdir(rootfs); err != nil {
		return fmt.Errorf("cannot enter rootfs %q: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("cannot pivot_root into %q: %w", rootfs, err)
	}
	return nil
}

// detachOldRoot unmounts the old root, and with it every host mount.
// pivot_root left it mounted on top of the new root, right where our
// working directory "." is. MNT_DETACH (a lazy unmount) lets it go even
// though we stand in it. Without this the host's whole filesystem stays
// reachable from inside the container. Then chdir("/") takes us to the
// rootfs, now alone at /.
func detachOldRoot() error {
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("cannot unmount the old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("cannot chdir to the new root: %w", err)
	}
	return nil
}

// mountProc mounts a fresh proc on /proc. ps and top read /proc, and the
// /proc we inherited still describes the host's PID namespace; a proc
// mounted by a process in the new PID namespace lists only that
// namespace's processes. The mount exists only in our mount namespace,
// so it hides the host's /proc from the container alone.
func mountProc() error {
	if err := os.MkdirAll("/proc", 0o555); err != nil { // a rootfs may lack it
		return fmt.Errorf("cannot create /proc: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("cannot mount proc on /proc: %w", err)
	}
	return nil
}

// mountDev mounts an empty tmpfs on /dev. The container gets only the
// few devices we create next, never the host's disks, and they vanish
// with the container.
func mountDev() error {
	if err := os.MkdirAll("/dev", 0o755); err != nil { // a rootfs may lack it
		return fmt.Errorf("cannot create /dev: %w", err)
	}
	if err := unix.Mount("tmpfs", "/dev", "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("cannot mount a tmpfs on /dev: %w", err)
	}
	return nil
}

// devices are the character devices ordinary programs expect: shells
// redirect to /dev/null, Go's os/exec opens it for unset stdio, crypto
// reads /dev/urandom. The numbers are fixed by the kernel (see
// Documentation/admin-guide/devices.txt).
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3},
	{"zero", 1, 5},
	{"random", 1, 8},
	{"urandom", 1, 9},
	{"tty", 5, 0},
}

// makeDevices creates the device nodes in the new /dev.
func makeDevices() error {
	for _, d := range devices {
		if err := makeDev(d.name, d.major, d.minor); err != nil {
			return err
		}
	}
	return nil
}

// makeDev creates the character device /dev/NAME. mknod(2) applies the
// umask (usually 022, giving 0644), so chmod then sets the 0666 that
// lets every user read and write it.
func makeDev(name string, major, minor uint32) error {
	path := "/dev/" + name
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(major, minor))); err != nil {
		return fmt.Errorf("cannot create device %s: %w", path, err)
	}
	if err := unix.Chmod(path, 0o666); err != nil {
		return fmt.Errorf("cannot chmod device %s: %w", path, err)
	}
	return nil
}

// execCommand replaces the child with the command: execve(2) keeps our
// PID, stdio and environment, so no extra process is left waiting in
// between, and the command's exit status is the child's. It returns only
// if the command cannot be started.
func execCommand(command []string) int {
	name := command[0]
	path, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return failed(exitNotFound, fmt.Errorf("command %q not found in the container's root filesystem", name))
	}
	if err != nil {
		var lookErr *exec.Error
		if errors.As(err, &lookErr) {
			err = lookErr.Err // "permission denied", without Go's "exec: NAME:" prefix
		}
		return failed(exitCannotExec, fmt.Errorf("cannot execute %q: %w", name, err))
	}
	err = unix.Exec(path, command, os.Environ())
	return failed(exitCannotExec, fmt.Errorf("cannot execute %q: %w", name, err))
}

// ---- Errors: one line on stderr, then an exit status ----

// failed prints err as one line and returns status.
func failed(status int, err error) int {
	fmt.Fprintf(os.Stderr, "stepbox: %v\n", err)
	return status
}

// withUsage appends the usage to an error in the shape of the command
// line. (An error in a flag's value says enough without it.)
func withUsage(err error) error {
	return fmt.Errorf("%w (usage: %s)", err, usage)
}
