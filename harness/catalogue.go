package harness

import "fmt"

// Catalogue is every check, in course order. A step's test runs the checks
// of that step and of every earlier one.
var Catalogue = []Check{
	// 01 re-exec through /proc/self/exe
	{"cli.args", 1, "the command gets its arguments, flag-like ones included",
		"does run pass os.Args after the flags to the child, and the child pass them on to exec unchanged?", checkArgs},
	{"cli.stdio", 1, "stdin and stdout pass through to the command",
		"set cmd.Stdin, cmd.Stdout and cmd.Stderr to os.Stdin, os.Stdout and os.Stderr in the parent", checkStdio},
	{"cli.exit_status", 1, "the runtime exits with the command's exit status",
		"take the child's status from *exec.ExitError (ExitCode) and os.Exit with it instead of printing ERROR and exiting 1", checkExitStatus},
	{"cli.usage", 1, "bad usage exits 2 with a line on stderr, never a panic",
		"check len(os.Args) before os.Args[1], and print usage and os.Exit(2) for an unknown subcommand instead of panic", checkUsage},
	{"cli.not_found", 1, "a command that does not exist exits 127 with a line naming it",
		"look the command up with exec.LookPath in the child and exit 127 with a clear line when it fails", checkNotFound},
	{"cli.exec", 1, "the command replaces the internal child process",
		"in the child, call unix.Exec (execve) instead of exec.Command(...).Run(), so no child process lingers in between", checkExec},

	// 02 UTS namespace
	{"uts.hostname", 2, "the container has the hostname given by --hostname",
		"call unix.Sethostname in the child, before exec, with the --hostname value", checkHostname},
	{"uts.ns_new", 2, "the container has its own UTS namespace",
		"add unix.CLONE_NEWUTS to Cloneflags in the parent's SysProcAttr", newNamespace("uts")},
	{"uts.host_unchanged", 2, "the hostname outside the container does not change",
		"without CLONE_NEWUTS, sethostname renames the host: add unix.CLONE_NEWUTS to Cloneflags", checkHostUnchanged},

	// 03 PID, mount and IPC namespaces
	{"pid.one", 3, "the command is PID 1 in its namespace",
		"add unix.CLONE_NEWPID to Cloneflags, and exec the command in the child rather than starting it as a grandchild", checkPIDOne},
	{"pid.ns_new", 3, "the container has its own PID namespace",
		"add unix.CLONE_NEWPID to Cloneflags", newNamespace("pid")},
	{"proc.only_container", 3, "/proc lists only the container's processes",
		"mount a fresh proc on /proc in the child (mount(\"proc\", \"/proc\", \"proc\", 0, \"\")) after the PID namespace exists", checkProcOnlyContainer},
	{"mnt.ns_new", 3, "the container has its own mount namespace",
		"add unix.CLONE_NEWNS to Cloneflags", newNamespace("mnt")},
	{"mnt.no_leak", 3, "mounts made inside never appear outside",
		"make / recursively private (MS_REC|MS_PRIVATE) in the child before any other mount: on systemd hosts / is shared", checkMountsNoLeak},
	{"ipc.ns_new", 3, "the container has its own IPC namespace",
		"add unix.CLONE_NEWIPC to Cloneflags", newNamespace("ipc")},

	// 04 pivot_root into the rootfs
	{"root.is_rootfs", 4, "/ inside the container is the rootfs given by --rootfs",
		"bind-mount the rootfs onto itself, chdir into it and pivot_root(\".\", \".\") before exec", checkIsRootfs},
	{"root.host_hidden", 4, "the host's files outside the rootfs are invisible",
		"pivot_root (not chroot) into the rootfs and detach the old root", checkHostHidden},
	{"root.oldroot_unmounted", 4, "the old root (the host's tree) is no longer mounted",
		"after pivot_root, unmount the old root with MNT_DETACH (umount2(\".\", MNT_DETACH) after pivot_root(\".\", \".\"))", checkOldRootUnmounted},
	{"root.oldroot_removed", 4, "no old-root directory is left in the rootfs",
		"pivot_root(\".\", \".\") needs no put_old directory; if you made one, remove it after unmounting", checkOldRootRemoved},
	{"mnt.minimal", 4, "the container's mount table is small: /, a fresh /proc and /dev",
		"mount proc on /proc and a tmpfs on /dev after pivot_root, and detach the old root", checkMountsMinimal},
	{"dev.null", 4, "/dev/null is a usable null device",
		"mount a tmpfs on /dev and mknod /dev/null as a character device 1,3 with mode 0666", checkDevNull},
	{"rootfs.missing", 4, "a missing rootfs exits 125 with one line naming it",
		"stat the --rootfs directory in the parent before starting the child, print one line and os.Exit(125)", checkRootfsMissing},

	// 05 cgroup CPU quota
	{"cgroup.quota_written", 5, "the container's cgroup has the quota --cpus asks for",
		"write cpus*100000 to cpu.cfs_quota_us (v1) or \"QUOTA 100000\" to cpu.max (v2) of a new stepbox-* cgroup, and put the child's PID in it", checkQuotaWritten},
	{"cgroup.enforced", 5, "a CPU-burning command gets only about --cpus worth of CPU",
		"write the child's PID to cgroup.procs of the cgroup with the quota, before the child is released from the sync pipe", checkQuotaEnforced},
	{"cgroup.removed", 5, "the container's cgroup is gone after it exits",
		"rmdir the cgroup after cmd.Wait returns, also on failure; the runtime itself must never join it, or rmdir fails with EBUSY", checkCgroupRemoved},
	{"cgroup.separate", 5, "two containers at once get separate cgroups",
		"name each container's cgroup uniquely (stepbox-<random>), not one fixed name", checkCgroupsSeparate},
	{"cgroup.bad_cpus", 5, "a good --cpus value is taken, a bad one exits 2 with one line and creates nothing",
		"validate --cpus (a number from 0.01 to the CPU count) while parsing flags, before anything is created", checkBadCPUs},
	{"cgroup.from_start", 5, "the command is in its container's cgroup from its first instruction, never unlimited",
		"put the child in the cgroup (its PID in cgroup.procs) before writing to the sync pipe that releases it", checkCgroupFromStart},
	{"cli.signals", 5, "the command starts with SIGINT and SIGQUIT at their default disposition, not ignored",
		"catch SIGINT and SIGQUIT in the runtime with signal.Notify, never signal.Ignore: an ignored signal stays ignored across exec", checkSignalsDefault},
	{"cli.fds", 5, "the command starts with file descriptors 0, 1 and 2 open and no others",
		"close the sync pipe (fd 3) in the child once the parent has released it, before exec", checkFDsClosed},

	// 06 user namespace
	{"userns.ns_new", 6, "the container has its own user namespace",
		"add unix.CLONE_NEWUSER to Cloneflags, in the same clone as the other namespaces", newNamespace("user")},
	{"userns.root_inside", 6, "the command runs as uid 0 and gid 0 inside, with the maps --uid-map and --gid-map ask for",
		"parse --uid-map and --gid-map (CONTAINER:HOST:SIZE) and set SysProcAttr.UidMappings and GidMappings from them", checkRootInside},
	{"userns.host_ids", 6, "outside, the container's processes belong to the mapped host uid and gid",
		"map the container's 0 to an unprivileged host range (--uid-map 0:100000:65536), never to the host's 0", checkHostIDs},
	{"userns.files_owned", 6, "files the container's root creates belong to the mapped host id",
		"map the container's 0 to an unprivileged host range in UidMappings and GidMappings, never to the host's 0", checkFilesOwned},
	{"userns.no_host_root", 6, "the container's root cannot write a file of the host's root",
		"map the container's 0 to an unprivileged host range: mapped to the host's 0, it keeps real root's power over host files", checkNoHostRoot},
	{"userns.rootless", 6, "an ordinary user (no privileges) can run the container and is root inside",
		"as an ordinary user map only your own ids (0:UID:1) and write \"deny\" to setgroups before gid_map (GidMappingsEnableSetgroups: false); skip the cgroup when not root", checkRootless},

	// 07 network namespace, veth pair and bridge
	{"net.ns_new", 7, "the container has its own network namespace",
		"add unix.CLONE_NEWNET to Cloneflags", newNamespace("net")},
	{"net.interfaces", 7, "inside there are only lo and the container's interface, both up, with an address and a default route through a gateway",
		"set lo up in the child; create a veth pair with one end in the child's namespace, give it an address, set it up and add a default route via the bridge's address", checkInterfaces},
	{"net.gateway", 7, "the container reaches its gateway, the host side, over TCP",
		"put the gateway address on the bridge, plug the host end of the veth pair into the bridge and set both up", checkGateway},
	{"net.containers", 7, "two containers at once get different addresses and talk over TCP through the bridge",
		"allocate each container a free address (skip those in use) and plug every host end into the same bridge", checkContainers},
	{"net.cleaned", 7, "after the containers exit, also after a failure, the host side's links, addresses, routes and rules are as before, but for the bridge, which may stay",
		"create the veth's peer inside the child's network namespace and keep no hold on that namespace, so the kernel deletes the pair with it; only the bridge may stay, also when setup or the command fails", checkNetCleaned},

	// 08 overlay: a read-only image under a writable layer per container
	{"overlay.image_unchanged", 8, "a container writes, deletes and renames files of the image, sees its changes, and the image's checksum is unchanged",
		"mount an overlay as the container's root: the image as lowerdir, and an upperdir and workdir of the container's own under --state-dir", checkImageUnchanged},
	{"overlay.isolated", 8, "two containers from one image at once do not see each other's writes or deletions",
		"give each container its own upper and work directories (a unique container id under STATE/containers), never one shared by all", checkIsolated},
	{"overlay.layer_removed", 8, "the container's layer is gone after it exits with --rm (the default); with --rm=false it is kept, holds its writes, and `layers` lists it",
		"after the child exits, remove STATE/containers/ID unless --rm=false; `layers` lists the IDs left there", checkLayerRemoved},
	{"overlay.bad_upper", 8, "overlayfs refusing the upper directory gives exit 125 and one line naming the overlay, the directory and --state-dir",
		"wrap the mount's error with the overlay, the upper directory and the way out (pass --state-dir DIR on a local filesystem), print one line and exit 125", checkBadUpper},

	// 09 lifecycle: ids, state, run -d, ps, logs, exec, stop, kill, rm, and an init
	{"life.detached", 9, "`run -d` prints the container's id and returns at once, while the container keeps running",
		"in run -d, start the runtime again in the background (a session of its own, stdio on /dev/null, the container's output to a log), wait only until the command has started, print the id and exit: nothing may tie the container's life to the command that started it", checkDetached},
	{"life.ps", 9, "`ps` lists a running detached container: its id, PID, the status running and its command",
		"record each container in STATE/containers/ID/state.json: its command, and once it started its PID and status running, then how it ended; ps reads every state.json", checkPs},
	{"life.exec", 9, "a command run by `exec ID` is inside the container (its hostname, namespaces and files), uses exec's stdin and stdout, and exec exits with its status",
		"have the container's init, already inside, start exec's command with the stdin, stdout and stderr exec passes over the container's exec socket (SCM_RIGHTS), and answer with its exit status", checkExecInside},
	{"life.stop_graceful", 9, "`stop` sends SIGTERM first: a command that handles it ends by its own handler",
		"in stop, signal the container's PID 1 with SIGTERM (the init passes it on), wait up to the grace period for the runtime to record the end, and only then SIGKILL", checkStopGraceful},
	{"life.stop_kill", 9, "`stop -t N` kills a command that ignores SIGTERM once the grace period is over, not before",
		"after SIGTERM and the grace period, SIGKILL the container's PID 1 (that ends its whole PID namespace) and wait until the runtime has recorded the end", checkStopKill},
	{"life.reap", 9, "the init reaps orphaned grandchildren: no zombie is left",
		"in the init, wait4(-1, ...) for any child, not only for the command: orphans are re-parented to PID 1, and only PID 1 can reap them", checkReap},
	{"life.init_signals", 9, "with the init (the default) the command is PID 1's child, a signal sent to the runtime reaches it, and the runtime exits with its status",
		"in the init, signal.Notify the usual signals and kill(command, sig) each; exit with the command's exit code, or 128+N when signal N ended it", checkInitSignals},
	{"life.rm_clean", 9, "after `stop` and `rm` nothing of the container is left: cgroup, mounts, network, state, log, writable layer, ps line",
		"let the runtime remove the cgroup and the network when the container ends, and rm remove STATE/containers/ID whole: state, log and writable layer", checkRmClean},
	{"life.crashed", 9, "a runtime SIGKILLed while its container runs leaves a state `ps` shows as not running, and `rm` cleans up its cgroup, network and directory",
		"ps: a container runs only while the runtime its state records (PID and start time) lives; rm: if the state never recorded the end, remove the recorded cgroup and network too", checkCrashed},
	{"life.bad_input", 9, "an unknown id, a bad signal name, or rm of a running container without -f: one line on stderr, exit 125 (2 for the signal), and the container runs on",
		"look the id up before anything else and fail with one line and 125; a signal name that does not parse is a usage error (2); rm refuses a running container unless -f", checkLifeBadInput},

	// 10 security: capabilities, no_new_privs, seccomp, masked and read-only paths, devices
	{"sec.caps", 10, "the command's bounding, effective, permitted and inheritable sets are the default list, and its ambient set is empty",
		"before exec, drop every other capability from the bounding set (prctl PR_CAPBSET_DROP, while CAP_SETPCAP is still held), clear the ambient set, then capset the other three", checkCaps},
	{"sec.cap_flags", 10, "--cap-add and --cap-drop (names or ALL) change the set; an unknown name exits 2 with one line",
		"start from the default list, take away --cap-drop's (all for ALL), add --cap-add's (all for ALL); check the names while parsing flags", checkCapFlags},
	{"sec.no_new_privs", 10, "the command runs with no_new_privs set",
		"call prctl(PR_SET_NO_NEW_PRIVS, 1) on the thread that execs, before installing the seccomp filter", checkNoNewPrivs},
	{"sec.seccomp", 10, "a seccomp filter refuses mount, unshare, namespace flags of clone, setns, keyctl, reboot, ptrace and perf_event_open, even with every capability (--cap-add ALL)",
		"build a BPF filter (check the architecture, then the call's number; for clone, its flags) and install it with seccomp(SECCOMP_SET_MODE_FILTER, TSYNC) just before exec", checkSeccomp},
	{"sec.masked", 10, "/proc's windows on the host (kcore, keys, timer_list, interrupts, acpi, ...) read empty, even with --cap-add ALL",
		"bind /dev/null over each masked file and an empty read-only tmpfs over each masked directory, after mounting /proc", checkMasked},
	{"sec.readonly_paths", 10, "/proc/sys, /proc/sysrq-trigger, /proc/irq and /proc/bus are read-only mounts: a sysctl write fails with EROFS, even with --cap-add ALL",
		"bind each path onto itself, then make the bind read-only (mount_setattr MOUNT_ATTR_RDONLY, or a MS_BIND|MS_REMOUNT|MS_RDONLY remount)", checkReadOnlyPaths},
	{"sec.read_only_root", 10, "with --read-only the root takes no writes (EROFS); without it, it does",
		"with --read-only, make the root's mount read-only before pivoting (mount_setattr MOUNT_ATTR_RDONLY on the rootfs)", checkReadOnlyRoot},
	{"sec.devices", 10, "only /dev's allow-listed devices open: a device node in the image fails with EACCES and mknod with EPERM, even with --cap-add ALL",
		"make the container's root nodev (mount_setattr MOUNT_ATTR_NODEV) and bind only the allow-listed devices into /dev", checkDevices},
	{"sec.attacks", 10, "every attack of the README's table fails with the expected error under the default settings",
		"drop the capabilities, set no_new_privs and install the seccomp filter in confine, just before exec; mask and make read-only the /proc paths", checkAttacks},
	{"sec.ordinary", 10, "ordinary programs still work: a shell, ls, ps, and a server on loopback answering a client",
		"install the seccomp filter last, after every mount the runtime makes, and keep the calls ordinary programs need (clone without namespace flags, socket, bind)", checkOrdinary},
	{"sec.exec", 10, "a process `exec` starts in a running container is as confined as the command: the same capabilities, no_new_privs and filter",
		"confine the child before it becomes the init, on every thread (capset and prctl act on one thread: syscall.AllThreadsSyscall), so whatever the init starts inherits it", checkExecConfined},

	// 11 the OCI runtime command line: create, start, state, kill, delete, exec
	{"oci.create_waits", 11, "`create` returns with the container set up and its init waiting: state says created with the init's pid, and the command has not run",
		"at create, set everything up in the init, then block it before the final execve on something only `start` releases (a FIFO or a socket in the container's state directory), and return", checkOCICreateWaits},
	{"oci.start_runs", 11, "`start` lets the waiting init exec the command, once: a second start fails",
		"in start, find the container's state, refuse unless it is created, and release the init's wait (open the FIFO, connect to the socket)", checkOCIStartRuns},
	{"oci.state", 11, "`state` prints the spec's JSON (ociVersion, id, status, pid, bundle, annotations), and the status goes created, running, stopped",
		"print specs.State from runtime-spec's Go types; compute the status each time: stopped once the process (same pid, same start time) is gone", checkOCIState},
	{"oci.pid_file", 11, "`create --pid-file F` writes the init's pid to F before it returns, the pid state reports",
		"write --pid-file at the end of create, once the init runs and waits (to a temporary name, then rename), with the pid you record in the state", checkOCIPidFile},
	{"oci.kill", 11, "`kill ID SIGNAL` delivers that signal (names and numbers; SIGTERM by default) to the container's process",
		"parse the signal (TERM, SIGTERM, 15) and kill(2) the pid the state records; with --all, every pid in the container's cgroup", checkOCIKill},
	{"oci.delete", 11, "`delete` refuses a running container without --force, and removes a stopped one whole: its state and its cgroup (linux.cgroupsPath)",
		"in delete, refuse unless the status is stopped (or kill it with --force and wait), then rmdir the container's cgroups and remove its state directory", checkOCIDelete},
	{"oci.relative_root", 11, "a relative root.path is the bundle's directory's, whatever directory create runs from",
		"join a relative root.path to the absolute --bundle directory (the spec says so), never to the working directory", checkOCIRelativeRoot},
	{"oci.log_json", 11, "with --log FILE --log-format json an error is one line on stderr and a {\"level\":\"error\",\"msg\":...,\"time\":...} line in FILE",
		"parse the global --log and --log-format before the command, and on every error append one JSON object (level, msg, time in RFC 3339) to the log as well as print the line", checkOCILogJSON},
	{"oci.exec", 11, "`exec ID CMD` runs CMD inside the running container (its hostname, root and PID namespace) with exec's stdout and exit status",
		"join the container process's namespaces (/proc/PID/ns/*) on a locked thread before starting the process, enter its root (/proc/PID/root), and wait for it", checkOCIExec},
	{"oci.bad_bundle", 11, "a bundle without config.json, with invalid JSON, an unsupported ociVersion or a missing root, and an id already taken: create fails with one line and leaves nothing behind",
		"check the bundle (config.json, its JSON, ociVersion 1.x, root.path) before creating anything; claim the id with mkdir, which fails if it exists; undo what a failed create made", checkOCIBadBundle},
}

// Lookup finds a check by ID.
func Lookup(id string) (Check, bool) {
	for _, c := range Catalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

// ChecksUpTo lists the checks of step and every earlier step.
func ChecksUpTo(step int) []Check {
	var list []Check
	for _, c := range Catalogue {
		if c.Step <= step {
			list = append(list, c)
		}
	}
	return list
}

// LastStep is the highest step the catalogue has checks for.
func LastStep() int { return Catalogue[len(Catalogue)-1].Step }

// ValidStep reports an error for a step number the catalogue does not know.
func ValidStep(step int) error {
	if step < 1 || step > LastStep() {
		return fmt.Errorf("step %d does not exist: steps are 1 to %d", step, LastStep())
	}
	return nil
}
