//go:build linux

// Step 11 of stepbox: step 10, which also speaks the OCI runtime command
// line (create, start, state, kill, delete, run, exec on a bundle's
// config.json; oci.go and the oci*.go files), so that podman, containerd
// and the OCI runtime-tools suite can drive it. dispatch hands those
// command lines to dispatchOCI; the course's own, below, is unchanged.
//
// Step 10 of stepbox: the container's root can no longer reach the
// host's kernel. Before the child execs the command or becomes the
// init, it drops its capabilities to a small default set (caps.go), sets
// no_new_privs and installs a seccomp filter (seccomp.go), on every
// thread, so the init and every process it starts, those of "stepbox
// exec" included, inherit them (confine.go); /proc's windows on the
// host are masked or read-only (paths.go); the root is nodev and, with
// --read-only, read-only (devices.go, paths.go).
//
// What step 09 built stays as it was: containers get an id and a state
// of their own on disk, so separate invocations can manage them, and
// PID 1 of each container is a tiny init.
//
//	stepbox run [-d] [--init=false] [--rootfs DIR | --image NAME] [--state-dir DIR] [--rm=false] [--hostname NAME] [--cpus N] [--uid-map C:H:N] [--gid-map C:H:N] [--cap-add CAP] [--cap-drop CAP] [--read-only] [-p HOST_PORT:CONTAINER_PORT[/tcp|udp]]... CMD [ARG...]
//	stepbox ps | logs [-f] ID | exec [-t] ID CMD [ARG...] | stop [-t SECONDS] ID | kill ID [SIGNAL] | rm [-f] ID   (each with [--state-dir DIR])
//	stepbox import [--state-dir DIR] FILE NAME
//	stepbox layers [--state-dir DIR]
//
// "run" checks the image, creates the container's directory under the
// state directory (its id, state.json, its writable layer, its log) and,
// as root, an overlay (overlay.go), and starts a second copy of this same
// program, /proc/self/exe, as "child" in new user, UTS, PID, mount, IPC
// and network namespaces. The parent cables the child to the stepbox0
// bridge and makes it a cgroup of its own while it waits; then the
// child sets the hostname, mounts its root, /proc and /dev, pivots, and
// either becomes the command (--init=false) or stays as PID 1, the init
// (init.go), and starts the command as its own child. The parent records
// the container in state.json (state.go), waits, and removes the cgroup,
// the network and, unless it is kept, the container's directory.
//
// "run -d" (detach.go) starts that parent as a background process of its
// own, with the container's output going to a log file, and returns
// the container's id as soon as the command runs. The other commands
// (commands.go, exec.go) find the container by id in the state directory.
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
	"slices"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// usage ends the error line when the command line is malformed.
const usage = "stepbox run [-d] [--init=false] [--rootfs DIR | --image NAME] [--state-dir DIR] [--rm=false] [--hostname NAME] [--cpus N] [--uid-map C:H:N] [--gid-map C:H:N] [--cap-add CAP] [--cap-drop CAP] [--read-only] [-p HOST_PORT:CONTAINER_PORT[/tcp|udp]]... CMD [ARG...]" +
	" | stepbox ps | logs [-f] ID | exec [-t] ID CMD [ARG...] | stop [-t SECONDS] ID | kill ID [SIGNAL] | rm [-f] ID" +
	" | stepbox import [--state-dir DIR] FILE NAME | stepbox layers [--state-dir DIR]"

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
	rootfs   string               // the image, the container's read-only lower layer; absolute once the parent checked it
	image    string               // an image from the store, instead of --rootfs
	stateDir string               // where images and the containers' layers live
	remove   bool                 // remove the container's directory after it exits (--rm; with -d only if given)
	detach   bool                 // run in the background and print the container's id (-d)
	init     bool                 // PID 1 is the tiny init, the command its child (--init)
	shimFD   int                  // internal, launcher to background runtime: the fd to report the start on (detach.go)
	reportFD int                  // internal, parent to child: the fd to report a failed start on, or 0
	execFD   int                  // internal, parent to child: the fd of the exec socket the init serves, or 0
	oneP     bool                 // internal, parent to child: the GOMAXPROCS=1 in its environment is the parent's, not the user's
	ovlFD    int                  // internal, parent to child: the fd of the overlay to attach, or 0
	hostname string               // the container's hostname
	cpus     float64              // the CPU quota, in CPUs (0.5 = half of one CPU)
	uidMap   syscall.SysProcIDMap // the container's user IDs on the host
	gidMap   syscall.SysProcIDMap // the container's group IDs on the host
	capAdd   capList              // capabilities to keep beyond the defaults (--cap-add)
	capDrop  capList              // default capabilities to drop (--cap-drop)
	readOnly bool                 // the container's root takes no writes (--read-only)
	ports    ports                // the published ports (the parent's alone: the child has no use for them)
	command  []string             // the command and its arguments
}

func main() {
	os.Exit(dispatch(os.Args[1:]))
}

// dispatch runs the subcommand and returns the exit status.
func dispatch(args []string) int {
	if status, ok := dispatchOCI(args); ok {
		return status // oci.go: the OCI runtime command line
	}
	if len(args) == 0 {
		return failed(exitUsage, withUsage(errors.New("missing subcommand")))
	}
	switch args[0] {
	case "run":
		return parent(args[1:])
	case "child":
		return child(args[1:])
	case "import":
		return importImage(args[1:])
	case "layers":
		return listLayers(args[1:])
	case "ps":
		return listContainers(args[1:])
	case "logs":
		return showLogs(args[1:])
	case "exec":
		return execInContainer(args[1:])
	case "stop":
		return stopCommand(args[1:])
	case "kill":
		return killCommand(args[1:])
	case "rm":
		return removeCommand(args[1:])
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
	flags.StringVar(&cfg.rootfs, "rootfs", "./rootfs", "the image: the container's read-only lower layer")
	flags.StringVar(&cfg.image, "image", "", "an image from the store (stepbox import), instead of --rootfs")
	flags.StringVar(&cfg.stateDir, "state-dir", defaultStateDir, "where images and the containers' layers live")
	flags.BoolVar(&cfg.remove, "rm", true, "remove the container's directory after it exits (default true, with -d false)")
	flags.IntVar(&cfg.ovlFD, "overlay-fd", 0, "internal: the fd on which the parent passes the child its overlay")
	flags.BoolVar(&cfg.detach, "d", false, "run in the background and print the container's id")
	flags.BoolVar(&cfg.init, "init", true, "PID 1 is a tiny init that forwards signals and reaps zombies; the command is its child")
	flags.IntVar(&cfg.shimFD, "shim-fd", 0, "internal: the fd on which the background runtime reports the start")
	flags.IntVar(&cfg.reportFD, "report-fd", 0, "internal: the fd on which the child reports a failed start")
	flags.IntVar(&cfg.execFD, "exec-fd", 0, "internal: the fd of the exec socket the init serves")
	flags.BoolVar(&cfg.oneP, "one-p", false, "internal: the parent set GOMAXPROCS=1 for the child alone")
	flags.StringVar(&cfg.hostname, "hostname", "container", "the container's hostname")
	cpus := flags.String("cpus", "0.5", "the CPU quota, in CPUs")
	uidMap := flags.String("uid-map", defaultIDMap(os.Geteuid()), "container uids on the host, CONTAINER:HOST:SIZE")
	gidMap := flags.String("gid-map", defaultIDMap(os.Getegid()), "container gids on the host, CONTAINER:HOST:SIZE")
	flags.Var(&cfg.ports, "p", "publish a port, HOST_PORT:CONTAINER_PORT[/tcp|udp]; again for each port")
	flags.Var(&cfg.ports, "publish", "the same as -p")
	flags.Var(&cfg.capAdd, "cap-add", "a capability to keep beyond the defaults (NET_ADMIN, ALL); repeatable")
	flags.Var(&cfg.capDrop, "cap-drop", "a default capability to drop (NET_RAW, ALL); repeatable")
	flags.BoolVar(&cfg.readOnly, "read-only", false, "make the container's root read-only")
	if err := flags.Parse(args); err != nil {
		return config{}, withUsage(err)
	}
	if cfg.detach && !flagGiven(flags, "rm") {
		cfg.remove = false // docker's run -d: kept until rm, unless --rm
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
	if cfg.uidMap, err = parseIDMap("--uid-map", *uidMap); err != nil {
		return config{}, err
	}
	if cfg.gidMap, err = parseIDMap("--gid-map", *gidMap); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// flagGiven reports whether the command line set the flag name.
func flagGiven(flags *flag.FlagSet, name string) bool {
	given := false
	flags.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
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
	if cfg.detach && cfg.shimFD == 0 {
		return launchDetached(args) // detach.go: start this again in the background
	}
	if cfg.shimFD != 0 {
		// The background runtime: its errors go to the launcher.
		startReport = os.NewFile(uintptr(cfg.shimFD), "launcher pipe")
		unix.CloseOnExec(cfg.shimFD) // the child must not hold it open
	}
	if cfg.image != "" {
		cfg.rootfs, err = resolveImage(cfg.stateDir, cfg.image)
	} else {
		cfg.rootfs, err = resolveRootfs(cfg.rootfs)
	}
	if err != nil {
		return failed(exitRuntime, err)
	}
	status, err := runContainer(cfg)
	var notStarted *startError
	if errors.As(err, &notStarted) {
		return failed(notStarted.status, notStarted) // the child's own status and line: 126, 127
	}
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

// resolveImage finds an image of the store.
func resolveImage(stateDir, name string) (string, error) {
	dir := imageDir(stateDir, name)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("image %q not found in %s: stepbox import FILE %s first", name, filepath.Dir(dir), name)
	}
	return resolveRootfs(dir)
}

// runContainer re-executes this program as "child" and waits for it.
//
// The child starts blocked on a socket. Meanwhile the parent sets up the
// container's host side (hostSide: its network and its cgroup, into
// which it moves the child); only then does it send the byte that lets
// the child go on (on cgroup v1 with the cgroup's tasks file: there the
// child moves itself in, before anything else). So the command never
// runs a moment without its limit, and the parent itself never joins
// the cgroup. Whatever happens next,
// the host side is removed at the end.
//
// There is one cleanup for every failed setup, deferred once, as runc's
// initProcess.start has: kill the child, which never ran the command,
// then (the defer before it) remove what was made of the host side.
//
// As root the container has a directory of its own (its id), where
// state.json records it while it runs and after, for ps, stop, exec and
// rm. It goes when it ends with --rm: the default in the foreground;
// a detached container stays until "stepbox rm" unless run -d --rm.
func runContainer(cfg config) (status int, err error) {
	// Signals are caught on another goroutine while the layer is made
	// (each costs a round trip, see catchSignals), before the clone.
	caught := make(chan chan os.Signal, 1)
	go func() { caught <- catchSignals() }()
	root, layer, ovl, err := prepareRoot(cfg)
	if err != nil {
		return 0, err
	}
	host := hostSide{layer: layer}
	started := false // the command runs: a detached container is kept from here on
	if layer != nil {
		defer func() {
			// Kept unless --rm, once the command ran: a start that failed leaves nothing.
			keep := !cfg.remove && (started || (!cfg.detach && err == nil))
			if err == nil && keep { // after host.remove: "exited" means cleaned up
				err = host.state.exited(status)
			}
			err = finishLayer(layer, keep, cfg.detach, err)
		}()
		defer ovl.Close() // the child has its own copy once started
		cfg.ovlFD = overlayFD
	}
	defer func() { err = host.remove(err) }()
	cmd := childCommand(cfg, root)
	syncRead, syncWrite, err := syncSocket()
	if err != nil {
		return 0, err
	}
	defer syncWrite.Close()
	cmd.ExtraFiles = []*os.File{syncRead} // fd 3 in the child, after stdin, stdout, stderr
	if ovl != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, ovl) // fd 4 (overlayFD): the socket the overlay arrives on
	}
	life, err := addLifeFiles(cmd, cfg, layer)
	if err != nil {
		return 0, err
	}
	defer life.close()

	signals := <-caught
	defer signal.Stop(signals)
	// Pdeathsig fires when the *thread* that started the child ends, not
	// the process (go.dev/issue/27505): stay on it until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err = startChild(cmd)
	syncRead.Close()      // the child has its own copy now
	life.closeChildEnds() // and of these
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
	if started, err = life.waitStarted(cmd, layer); err != nil {
		return 0, err
	}
	return waitForChild(cmd)
}

// childCommand is the child: /proc/self/exe is the running binary, so
// this works however stepbox was started (go run, a relative path, a
// renamed copy).
func childCommand(cfg config, root string) *exec.Cmd {
	cmd := exec.Command("/proc/self/exe", childArgs(cfg, root)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// The child runs on one P (see child). Told so by its environment,
	// its Go runtime starts with one, where the call would stop the world
	// to give the other up: about 1 ms (see "Why it is fast"). Not if the
	// user set GOMAXPROCS: that one is the command's, and the child makes
	// the call instead.
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		cmd.Args = insertFlag(cmd.Args, "--one-p")
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// clone(2) creates the child in these new namespaces. The user
		// namespace comes first and owns the others: that is what lets
		// its root (unprivileged outside) mount proc for its own PID
		// namespace, or an ordinary user create the rest at all.
		Cloneflags: unix.CLONE_NEWUSER | // its own user and group IDs
			unix.CLONE_NEWUTS | // its own hostname
			unix.CLONE_NEWPID | // its own process IDs: the init (or the command) will be PID 1
			unix.CLONE_NEWNS | // its own mount table
			unix.CLONE_NEWIPC | // its own System V IPC and POSIX message queues
			unix.CLONE_NEWNET, // its own network: interfaces, addresses, routes, ports
		// Go writes /proc/PID/uid_map and gid_map for us between clone and
		// exec, while the child waits, and then, still before exec, makes
		// it uid and gid 0 of the namespace (Credential). A map does not
		// change who a process is: run by root, the child is still the
		// host's root, which the map leaves out, so it is nobody (65534)
		// inside until setuid(0) makes it the host's 100000. And it must
		// be 0 before exec, which gives capabilities to uid 0 alone.
		UidMappings: []syscall.SysProcIDMap{cfg.uidMap},
		GidMappings: []syscall.SysProcIDMap{cfg.gidMap},
		// An ordinary user must write "deny" to /proc/PID/setgroups before
		// gid_map (false does that): else the container could drop a group
		// whose members a file shuts out. Root may keep setgroups, and
		// must: Credential then clears root's supplementary groups, which
		// would still open the host's group-0 files to the container.
		GidMappingsEnableSetgroups: os.Geteuid() == 0,
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: os.Geteuid() != 0},
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
	network *network // nil until made; the kernel removes it (see network.go)
	cgroup  *cgroup  // nil until made
	layer   *layer   // the container's layers, whose overlay goes to the child; nil without
	state   *state   // the container's record on disk; nil when not root
}

// setUp prepares the host side while the child waits on the sync socket.
// The child's Go runtime is starting meanwhile, so this work overlaps
// with it instead of adding to it. The cgroup and the overlay are made on
// goroutines of their own while this one makes the network: each waits
// on the kernel, and none of them needs another. All are done
// when setUp returns, so that remove finds whatever was made; the first
// error is the one reported.
func (h *hostSide) setUp(cfg config, cmd *exec.Cmd) (err error) {
	cgroupDone := inBackground(func() error { return h.setUpCgroup(cfg, cmd) })
	overlayDone := inBackground(func() error { return h.overlayToChild(cfg, cmd) })
	if err = h.recordCreated(cfg); err == nil {
		h.network, err = connectNetwork(cmd.Process.Pid, cfg.ports)
	}
	if err := firstError(<-overlayDone, err, <-cgroupDone); err != nil {
		return err
	}
	return h.recordRunning(cmd)
}

// overlayToChild sends the child its overlay, when it has a layer. The
// child's user namespace exists now: the overlay can be idmapped to it.
func (h *hostSide) overlayToChild(cfg config, cmd *exec.Cmd) error {
	if h.layer == nil {
		return nil
	}
	return h.layer.sendOverlay(cfg.rootfs, cmd.Process.Pid)
}

// inBackground runs fn on a goroutine of its own; its error arrives on
// the channel.
func inBackground(fn func() error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return done
}

// firstError is the first of errs that is not nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// setUpCgroup creates the container's cgroup, sets its CPU quota and
// moves the child in (on cgroup v1, readies the file the child moves
// itself in through: moveIn). h.cgroup is set as soon as the cgroup
// exists, so that remove finds it if a later write fails.
func (h *hostSide) setUpCgroup(cfg config, cmd *exec.Cmd) error {
	if os.Geteuid() != 0 {
		// Only root may create cgroups here (rootless runtimes ask
		// systemd for a delegated one): run without, and say so.
		warn("not root, so no cgroup: --cpus %g is not applied", cfg.cpus)
		return nil
	}
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

// recordCreated writes the container's state, "created". The child
// exists, and its Go runtime is starting meanwhile: written here rather
// than before the clone, it costs the run nothing (about 1 ms before,
// most of it encoding/json's first use).
func (h *hostSide) recordCreated(cfg config) (err error) {
	if h.layer == nil {
		return nil
	}
	h.state, err = newState(h.layer.dir, cfg)
	return err
}

// recordRunning writes the child's PID, its cgroup and its network into
// the container's state: from here on ps lists it, and rm can clean up
// after a runtime that died.
func (h *hostSide) recordRunning(cmd *exec.Cmd) error {
	if h.state == nil {
		return nil
	}
	if err := h.state.running(cmd.Process.Pid, h.cgroup.dir, h.network.hostEnd); err != nil {
		return err
	}
	return nil
}

// remove takes away what setUp made, also after a half-done setUp. A
// setup error, if there was one, is the one to report.
func (h *hostSide) remove(err error) error {
	if n := h.network; n != nil {
		if removeErr := n.remove(); removeErr != nil && err == nil {
			err = removeErr
		}
	}
	if cg := h.cgroup; cg != nil {
		if removeErr := cg.remove(); removeErr != nil && err == nil {
			err = removeErr
		}
	}
	return err
}

// lifeFiles are what the child gets for its life cycle, besides the sync
// pipe and the overlay: detached, its log as stdout and stderr, and the
// write end of the start pipe; with the init, the exec socket.
type lifeFiles struct {
	reportRead *os.File   // -d: the start pipe, on which the child says if the command failed to start
	childEnds  []*os.File // the child's copies, closed here once it has them
}

// addLifeFiles opens the life-cycle files and hands them to the child,
// with flags that say which fd is which.
func addLifeFiles(cmd *exec.Cmd, cfg config, l *layer) (_ *lifeFiles, err error) {
	f := &lifeFiles{}
	defer func() {
		if err != nil {
			f.close() // what was opened before the failure
		}
	}()
	if cfg.detach {
		// Detached, the container's output goes to its log file.
		logFile, err := createLog(l.dir)
		if err != nil {
			return nil, err
		}
		f.childEnds = append(f.childEnds, logFile)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logFile, logFile // nil: /dev/null
		// The child says on this pipe if the command failed to start;
		// it closes at the command's exec (or, with the init, its start).
		reportRead, reportWrite, err := os.Pipe()
		if err != nil {
			return nil, fmt.Errorf("cannot create the start pipe: %w", err)
		}
		f.reportRead, f.childEnds = reportRead, append(f.childEnds, reportWrite)
		cmd.Args = insertFlag(cmd.Args, "--report-fd="+strconv.Itoa(3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, reportWrite)
	}
	if cfg.init && l != nil {
		sock, err := listenExec(l.dir)
		if err != nil {
			return nil, err
		}
		f.childEnds = append(f.childEnds, sock) // the child's init holds its own copy
		cmd.Args = insertFlag(cmd.Args, "--exec-fd="+strconv.Itoa(3+len(cmd.ExtraFiles)))
		cmd.ExtraFiles = append(cmd.ExtraFiles, sock)
	}
	return f, nil
}

// closeChildEnds closes the parent's copies of the child's files once
// the child has started: EOF on the start pipe then comes from the child
// alone.
func (f *lifeFiles) closeChildEnds() {
	for _, file := range f.childEnds {
		file.Close()
	}
	f.childEnds = nil
}

// close closes all the files that are still open.
func (f *lifeFiles) close() {
	f.closeChildEnds()
	if f.reportRead != nil {
		f.reportRead.Close()
	}
}

// waitStarted waits, when detached, until the child has started the
// command, then prints the container's id (run -d returns there) and
// reports true. A command that failed to start is the error.
func (f *lifeFiles) waitStarted(cmd *exec.Cmd, l *layer) (bool, error) {
	if f.reportRead == nil {
		return false, nil
	}
	if err := readStartReport(f.reportRead); err != nil {
		_, _ = waitForChild(cmd) // it exits after saying why
		return false, err
	}
	reportStarted(l.id) // run -d prints the id and returns
	return true, nil
}

// insertFlag puts an internal flag into the child's command line, before
// the "--" that ends the flags.
func insertFlag(args []string, flag string) []string {
	i := slices.Index(args, "--")
	return slices.Insert(args, i, flag)
}

// prepareRoot makes the container's root: as root, a layer of its own
// and the socket on which the child receives the overlay of the image
// and that layer, to attach as its root. An ordinary user may not create
// the overlay (see overlay.go): the child then gets the image read-only,
// and says so.
func prepareRoot(cfg config) (root string, l *layer, ovl *os.File, err error) {
	if os.Geteuid() != 0 {
		warn("not root, so no writable layer: the image %s is mounted read-only", cfg.rootfs)
		return cfg.rootfs, nil, nil, nil
	}
	throwaway := cfg.remove && !cfg.detach // removed right after the container exits
	if l, err = newLayer(cfg.stateDir, throwaway); err != nil {
		return "", nil, nil, err
	}
	if ovl, err = l.overlaySocket(); err != nil {
		_ = l.remove()
		return "", nil, nil, err
	}
	return l.merged, l, ovl, nil
}

// finishLayer removes the container's directory, or keeps it and, in
// the foreground, says where. A setup error, if there was one, is the
// one to report.
func finishLayer(l *layer, keep, quiet bool, err error) error {
	if keep {
		if !quiet {
			note("kept the container %s and its writable layer %s (stepbox ps and layers list it; stepbox rm %s removes it)", l.id, l.upper, l.id)
		}
		return err
	}
	if removeErr := l.remove(); removeErr != nil && err == nil {
		return removeErr
	}
	return err
}

// startChild starts the child in its new namespaces. Creating a
// namespace needs CAP_SYS_ADMIN, so without root clone(2) fails with
// EPERM: say so, with the fix.
func startChild(cmd *exec.Cmd) error {
	err := cmd.Start()
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOSPC) {
		return fmt.Errorf("cannot create namespaces: %w: as an ordinary user map only your own uid and gid (the default), "+
			"on a kernel that allows user namespaces (sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone); or run as root", err)
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
// container's command would inherit that. Each signal asked for is a
// round trip to a thread of the Go runtime's own, which sets the signal
// masks: about 0.15 ms apiece on this course's VM.
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

// childArgs rebuilds the command line for the child from cfg, with
// root as its rootfs (the overlay's merged directory). The "--" ends the
// flags, so a command that starts with "-" stays the command.
func childArgs(cfg config, root string) []string {
	args := []string{
		"child",
		"--rootfs=" + root,
		"--hostname=" + cfg.hostname,
		"--cpus=" + strconv.FormatFloat(cfg.cpus, 'g', -1, 64),
		"--uid-map=" + formatIDMap(cfg.uidMap),
		"--gid-map=" + formatIDMap(cfg.gidMap),
		"--overlay-fd=" + strconv.Itoa(cfg.ovlFD),
		"--cap-add=" + cfg.capAdd.String(),
		"--cap-drop=" + cfg.capDrop.String(),
		"--read-only=" + strconv.FormatBool(cfg.readOnly),
		"--init=" + strconv.FormatBool(cfg.init),
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

// child prepares the container, then becomes the command, or with
// --init stays as its PID 1 and starts the command (init.go).
//
// It prepares its root, confines itself and gets the init ready while the
// parent records the container, makes the network and the cgroup (all
// outside its reach, so none needs waiting for), and waits for the parent
// only before the command starts, as in step 09. A failure is reported
// after the wait, so the parent has finished and the error stays the one
// line on stderr.
func child(args []string) int {
	// One P: the child runs one goroutine at a time and needs no
	// parallelism, and each of confine's calls on every thread stops the
	// world, which with one P is one to stop, not GOMAXPROCS of them.
	// Mostly the parent's GOMAXPROCS=1 has seen to it (childCommand), and
	// this does nothing.
	runtime.GOMAXPROCS(1)
	// The bounding set is dropped on this thread alone, and every process
	// of the container is forked from it (starter.go).
	runtime.LockOSThread()
	startTID = unix.Gettid()
	cfg, prepareErr := prepareChild(args)
	var ready initReady
	status := exitRuntime
	if prepareErr == nil && cfg.init {
		ready, status, prepareErr = readyInit(cfg.command)
	}
	if err := waitForParent(); err != nil {
		return failed(exitRuntime, err)
	}
	if prepareErr != nil {
		return failed(status, prepareErr)
	}
	if cfg.init {
		return runInit(cfg.command, ready.path, ready.signals, cfg.execFD)
	}
	return execCommand(cfg.command)
}

// prepareChild is all the child does before the command may run: it
// sets up the container's root and takes away what it does not need.
func prepareChild(args []string) (config, error) {
	cfg, err := parseRun(args)
	if err != nil {
		return cfg, err
	}
	if cfg.oneP {
		os.Unsetenv("GOMAXPROCS") // the child's alone: the command starts with the user's environment
	}
	if cfg.reportFD != 0 {
		// A detached run: a failed start is reported on this pipe too.
		// Close-on-exec, so the command's exec closes it: "started".
		startReport = os.NewFile(uintptr(cfg.reportFD), "start pipe")
		unix.CloseOnExec(cfg.reportFD)
	}
	if cfg.execFD != 0 {
		unix.CloseOnExec(cfg.execFD) // the init serves it; the command must not inherit it
	}
	if err := setupContainer(cfg); err != nil {
		return cfg, err
	}
	return cfg, confine(cfg)
}

// waitForParent blocks until the parent has made the cgroup and cabled
// the network, then, on v1, moves this process into the cgroup, so it
// must come before the command starts. The parent
// passed one end of a socket pair as fd 3 and sends one byte when ready,
// with the cgroup's tasks file on cgroup v1. EOF without the
// byte means the parent gave up (it reports why). The socket is closed
// here, so the command does not inherit fd 3; the join file came
// close-on-exec, and joinCgroup closes it.
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
	if err := setLoopbackUp(); err != nil {
		return err
	}
	if err := makeMountsPrivate(); err != nil {
		return err
	}
	if err := mountRoot(cfg.rootfs, cfg.ovlFD); err != nil {
		return err
	}
	if err := restrictDevices(cfg.rootfs); err != nil {
		return err
	}
	if cfg.readOnly {
		if err := makeRootReadOnly(cfg.rootfs); err != nil {
			return err
		}
	}
	// In a user namespace proc, /dev and its devices go in before the
	// pivot, while the host's /proc and /dev are still in reach.
	if err := mountProc(cfg.rootfs); err != nil {
		return err
	}
	if err := mountDev(cfg.rootfs); err != nil {
		return err
	}
	if err := bindDevices(cfg.rootfs); err != nil {
		return err
	}
	if err := maskPaths(cfg.rootfs); err != nil {
		return err
	}
	if err := makePathsReadOnly(cfg.rootfs); err != nil {
		return err
	}
	if err := pivotRoot(cfg.rootfs); err != nil {
		return err
	}
	if err := detachOldRoot(); err != nil {
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

// mountRoot mounts the container's root on the rootfs directory: the
// overlay the parent passed on fd ovlFD when there is one, else the
// image read-only.
func mountRoot(rootfs string, ovlFD int) error {
	if ovlFD != 0 {
		return attachOverlay(os.NewFile(uintptr(ovlFD), "overlay socket"), rootfs)
	}
	return bindImageReadOnly(rootfs)
}

// bindMountRootfs bind-mounts the rootfs onto itself. pivot_root(2) needs
// the new root to be a mount point, and a plain directory is not one
// until something is mounted on it. MS_REC brings along any mounts
// already inside the rootfs.
func bindMountRootfs(rootfs string) error {
	err := unix.Mount(rootfs, rootfs, "", unix.MS_BIND|unix.MS_REC, "")
	if errors.Is(err, unix.EACCES) {
		// The container's root is an unprivileged host uid, which needs
		// search (x) permission on every directory above the rootfs.
		return fmt.Errorf("cannot reach rootfs %q as the container's root: %w: chmod o+x each directory above it", rootfs, err)
	}
	if err != nil {
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

// mountProc mounts a fresh proc on the rootfs's /proc. ps and top read
// /proc, and the /proc we inherited still describes the host's PID
// namespace; a proc mounted by a process in the new PID namespace lists
// only that namespace's processes. The mount exists only in our mount
// namespace, so it hides the host's /proc from the container alone.
// It must happen before the old root goes: in a user namespace the
// kernel mounts a new proc only while a full one is visible, so the
// container can never see more of /proc than it already could.
func mountProc(rootfs string) error {
	dir := filepath.Join(rootfs, "proc")
	if err := os.MkdirAll(dir, 0o555); err != nil { // a rootfs may lack it
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := unix.Mount("proc", dir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("cannot mount proc on %s: %w", dir, err)
	}
	return nil
}

// mountDev mounts an empty tmpfs on the rootfs's /dev. The container
// gets only the few devices we bind next, never the host's disks, and
// they vanish with the container.
func mountDev(rootfs string) error {
	dir := filepath.Join(rootfs, "dev")
	if err := os.MkdirAll(dir, 0o755); err != nil { // a rootfs may lack it
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID, "mode=755"); err != nil {
		return fmt.Errorf("cannot mount a tmpfs on %s: %w", dir, err)
	}
	return nil
}

// bindDevices gives the new /dev the host's devices of those names.
func bindDevices(rootfs string) error {
	for _, name := range devices {
		if err := bindDev(rootfs, name); err != nil {
			return err
		}
	}
	return nil
}

// bindDev bind-mounts the host's /dev/NAME onto an empty file of that
// name in the rootfs's /dev. In a user namespace mknod(2) fails with
// EPERM whatever our capabilities: a device node made inside would be a
// door to any device on the host. A bind mount only passes on a node the
// host already made. (runc does the same for rootless containers.)
func bindDev(rootfs, name string) error {
	host, path := "/dev/"+name, filepath.Join(rootfs, "dev", name)
	if err := os.WriteFile(path, nil, 0o666); err != nil {
		return fmt.Errorf("cannot create %s to bind %s onto: %w", path, host, err)
	}
	if err := unix.Mount(host, path, "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("cannot bind-mount device %s onto %s: %w", host, path, err)
	}
	return nil
}

// execCommand replaces the child with the command: execve(2) keeps our
// PID, stdio and environment, so no extra process is left waiting in
// between, and the command's exit status is the child's. It returns only
// if the command cannot be started.
func execCommand(command []string) int {
	path, status, err := lookPath(command[0])
	if err != nil {
		return failed(status, err)
	}
	err = unix.Exec(path, command, os.Environ())
	return failed(exitCannotExec, fmt.Errorf("cannot execute %q: %w", command[0], err))
}

// lookPath finds a command in the container's PATH, or returns the exit
// status and the line to fail with: 127 not found, 126 not executable.
func lookPath(name string) (string, int, error) {
	path, err := exec.LookPath(name)
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return "", exitNotFound, fmt.Errorf("command %q not found in the container's root filesystem", name)
	}
	if err != nil {
		var lookErr *exec.Error
		if errors.As(err, &lookErr) {
			err = lookErr.Err // "permission denied", without Go's "exec: NAME:" prefix
		}
		return "", exitCannotExec, fmt.Errorf("cannot execute %q: %w", name, err)
	}
	return path, 0, nil
}

// ---- Errors: one line on stderr, then an exit status ----

// warn prints one line about something left undone, and goes on.
func warn(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stepbox: warning: "+format+"\n", args...)
}

// note prints one line about what was done, and goes on.
func note(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stepbox: "+format+"\n", args...)
}

// startReport, when set, is where a detached start is reported: in the
// background runtime the launcher's pipe, in the child the start pipe.
var startReport *os.File

// failed prints err as one line and returns status. During a detached
// start it also reports them ("STATUS line") to whoever waits for it.
func failed(status int, err error) int {
	fmt.Fprintf(os.Stderr, "stepbox: %v\n", err)
	if startReport != nil {
		fmt.Fprintf(startReport, "%d %v\n", status, err)
		startReport.Close()
		startReport = nil
	}
	return status
}

// withUsage appends the usage to an error in the shape of the command
// line. (An error in a flag's value says enough without it.)
func withUsage(err error) error {
	return fmt.Errorf("%w (usage: %s)", err, usage)
}
