package harness

import "fmt"

// Hint levels: `make hint` shows a failing check's hints one at a time,
// from a nudge towards the fix to the trap that usually causes it.
const (
	HintNudge   = iota // where to look, in the learner's own code
	HintSyscall        // the system call, flag or file that does it
	HintPitfall        // the usual trap, and what the article gets wrong
	HintLevels         // how many there are
)

// HintLevelNames name the levels, in order.
var HintLevelNames = [HintLevels]string{"nudge", "syscall", "pitfall"}

// Hints are the progressive hints of every check, by check ID. They live
// here, beside the catalogue, and TestEveryCheckHasHints keeps the two in
// step: a new check needs its three hints.
var Hints = map[string][HintLevels]string{
	// 01 re-exec through /proc/self/exe
	"cli.args": {
		"The command must get exactly the arguments typed after it, including ones that look like flags (-c, --flag) and empty ones. Follow them from run's command line, through the child's, to the command.",
		"Stop flag parsing at the command (flag.FlagSet.Parse stops at the first non-flag) and pass flags.Args() on; when rebuilding the child's command line, put \"--\" before the command.",
		"The article hands the child os.Args[2:] and lets the child parse them again: without \"--\", a command like `sh -c ...` loses its -c to the child's flag parsing.",
	},
	"cli.stdio": {
		"The command's stdin and stdout must be the terminal's (or the pipe's) that stepbox was started with, through both processes.",
		"In the parent, set cmd.Stdin, cmd.Stdout and cmd.Stderr of the child's exec.Cmd to os.Stdin, os.Stdout and os.Stderr; exec(2) in the child keeps them.",
		"An exec.Cmd with nil Stdin reads from /dev/null and nil Stdout discards: nothing fails, the output just vanishes.",
	},
	"cli.exit_status": {
		"When the command exits 7, stepbox must exit 7. Where does the parent learn how the child ended?",
		"cmd.Wait returns an *exec.ExitError for a non-zero status: take cmd.ProcessState.ExitCode(), or 128+N from the syscall.WaitStatus when signal N killed it, and os.Exit with it.",
		"The article prints `ERROR exit status 7` and exits 1, so every failure looks the same to scripts and CI.",
	},
	"cli.usage": {
		"Run the binary with no arguments, with an unknown subcommand, with `run` alone and with an unknown flag: each must print one line on stderr and exit 2.",
		"Check len(args) before reading args[0]; make the flag set flag.ContinueOnError with its output discarded, and turn its error into your own line and os.Exit(2).",
		"The article reads os.Args[1] unchecked (index out of range) and panics with `wat should I do`: a panic exits 2 too, but with a goroutine dump instead of one useful line.",
	},
	"cli.not_found": {
		"A command that does not exist must exit 127 with one line naming it, as a shell does.",
		"Look the command up with exec.LookPath in the child before exec; on exec.ErrNotFound print one line and exit 127 (126 when it exists but cannot be executed).",
		"Letting exec(2) fail and reporting every error alike gives 125 or 1; from step 04 on, the lookup must happen in the child, after it has entered the new root.",
	},
	"cli.exec": {
		"The command's parent should be the runtime (or nobody, inside a PID namespace): no extra process may sit in between.",
		"In the child, replace the process with the command: unix.Exec(path, args, os.Environ()) (execve(2)) rather than starting it.",
		"The article runs exec.Command(...).Run() in the child, so the child lingers as a middleman: the command is not PID 1 at step 03 and signals sent to the child never reach it.",
	},

	// 02 UTS namespace
	"uts.hostname": {
		"The command inside must see the --hostname value as its hostname. Does run accept the flag, hand it to the child, and does the child set it before the command starts?",
		"unix.Sethostname([]byte(name)) in the child, after the new UTS namespace exists and before exec.",
		"Setting the hostname in the parent changes the host's (the parent is not in the new namespace); the child must do it.",
	},
	"uts.ns_new": {
		"/proc/self/ns/uts inside the container must differ from the host's: the child has to be born in a namespace of its own.",
		"Set cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS} on the child's exec.Cmd: clone(2) then creates the namespace.",
		"The article's Cloneflags line ends with a Chinese comma (`、`) and does not compile; and unshare(2) called from Go affects only one thread of the runtime, so use Cloneflags.",
	},
	"uts.host_unchanged": {
		"After the run, the host's hostname must be what it was. Which namespace was the hostname set in?",
		"Without unix.CLONE_NEWUTS in Cloneflags, sethostname(2) in the child renames the host; add it.",
		"Outside the harness's sandbox this renames your machine: if it happened, `sudo hostname OLDNAME`. Never test this bug outside the sandbox or a VM.",
	},

	// 03 PID, mount and IPC namespaces
	"pid.one": {
		"Inside, the command should see itself as PID 1, the init of its own PID namespace.",
		"Add unix.CLONE_NEWPID to Cloneflags; the child is then PID 1, and the command becomes PID 1 when the child execs it.",
		"If the child starts the command (exec.Command.Run) instead of exec'ing it, the command is PID 2: the article's mistake.",
	},
	"pid.ns_new": {
		"/proc/self/ns/pid inside must differ from the host's.",
		"Add unix.CLONE_NEWPID to Cloneflags.",
		"unshare(CLONE_NEWPID) does not move the caller, only its future children: with re-exec, Cloneflags on the child is the simple way.",
	},
	"proc.only_container": {
		"ps inside must list only the container's processes. What does ps read, and whose processes does it describe?",
		"In the child, mount a new proc: unix.Mount(\"proc\", \"/proc\", \"proc\", MS_NOSUID|MS_NODEV|MS_NOEXEC, \"\"), after the PID namespace exists and after / is private.",
		"The inherited /proc describes the host's PID namespace until a proc is mounted from inside the new one; mounting it from the parent gives the host's view again.",
	},
	"mnt.ns_new": {
		"/proc/self/ns/mnt inside must differ from the host's: the container needs its own mount table before it mounts anything.",
		"Add unix.CLONE_NEWNS to Cloneflags.",
		"Without it, every mount the child makes (/proc, the rootfs) lands in the host's mount table.",
	},
	"mnt.no_leak": {
		"A mount made inside the container must not appear on the host. A new mount namespace is a copy of the host's table: is the copy still linked to the original?",
		"First thing in the child, before any mount: unix.Mount(\"\", \"/\", \"\", unix.MS_REC|unix.MS_PRIVATE, \"\").",
		"On systemd hosts / is shared, so the copy stays in the host's peer group and mounts propagate back; the article never makes anything private. If /proc leaked on your host, `sudo umount /proc` until `findmnt /proc` shows one.",
	},
	"ipc.ns_new": {
		"/proc/self/ns/ipc inside must differ from the host's.",
		"Add unix.CLONE_NEWIPC to Cloneflags.",
		"It is easy to forget because nothing visibly breaks: `ipcs` inside would list the host's shared memory and message queues.",
	},

	// 04 pivot_root into the rootfs
	"root.is_rootfs": {
		"/ inside must be the --rootfs directory. Does run accept --rootfs and hand it to the child, and does the child switch its root before exec?",
		"In the child: bind-mount the rootfs onto itself (MS_BIND|MS_REC), chdir into it, unix.PivotRoot(\".\", \".\"), then look the command up inside.",
		"pivot_root fails with `invalid argument` when / is shared (make it private first) or the rootfs is not a mount point (the bind mount makes it one).",
	},
	"root.host_hidden": {
		"Files of the host outside the rootfs must be out of reach from inside, by any path.",
		"Use pivot_root(2), not chroot(2), and detach the old root afterwards: unix.Unmount(\".\", unix.MNT_DETACH).",
		"chroot only changes where path lookups start: the host's mounts are all still there, and a process with CAP_SYS_CHROOT can climb back out.",
	},
	"root.oldroot_unmounted": {
		"After the root switch, the container's mount table must not hold the host's old root or any host mount under it.",
		"After pivot_root(\".\", \".\"), the old root is stacked on \".\": unix.Unmount(\".\", unix.MNT_DETACH), then chdir(\"/\").",
		"The article pivots into rootfs/oldrootfs and never unmounts it: `ls /oldrootfs` inside is the host's whole file system.",
	},
	"root.oldroot_removed": {
		"After the run, the rootfs must hold nothing it did not have before: no directory for the old root.",
		"pivot_root(\".\", \".\") needs no put_old directory at all; if you made one, unmount it (MNT_DETACH) and os.Remove it.",
		"The article creates rootfs/oldrootfs and leaves it behind, and two containers sharing the rootfs race on it.",
	},
	"mnt.minimal": {
		"Inside, the mount table should be short: the new /, a fresh /proc and a /dev. What else is still there, and in which order were things mounted?",
		"After the root switch and detaching the old root: mount proc on /proc and a tmpfs on /dev (create the directories if the rootfs lacks them).",
		"Mounting /proc before pivot_root puts it in the old root, which is then detached with it.",
	},
	"dev.null": {
		"/dev/null inside must be the null device and accept writes: shells and Go programs open it.",
		"Mount a tmpfs on /dev, unix.Mknod(\"/dev/null\", unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))), then chmod it to 0666.",
		"mknod applies the umask, giving crw-r--r--: chmod after. And a regular file called /dev/null fills up instead of discarding.",
	},
	"rootfs.missing": {
		"With a --rootfs that does not exist, stepbox must say so in one line naming it and exit 125, before it creates anything.",
		"os.Stat the rootfs in the parent before starting the child; on fs.ErrNotExist print one line and exit 125.",
		"Found only in the child, the failure arrives as an obscure mount or chdir error, after the namespaces were made; the article panics.",
	},

	// 05 cgroup CPU quota
	"cgroup.quota_written": {
		"While the container runs, its cgroup must hold the quota --cpus asks for. Is there a cgroup of its own, and what did you write into it?",
		"cgroup v2: write \"QUOTA 100000\" to cpu.max, QUOTA = cpus*100000; v1: 100000 to cpu.cfs_period_us and QUOTA to cpu.cfs_quota_us. Detect which from /proc/self/mountinfo.",
		"The article hard-codes v1 paths (most distributions are v2 now), and Go's SysProcAttr has no Cgroup field: its snippet does not compile.",
	},
	"cgroup.enforced": {
		"A command burning CPU inside must get only about --cpus worth. Is the command itself in the cgroup with the quota, from its very first instruction?",
		"Write the child's PID to the cgroup's cgroup.procs from the parent, then release the child (a byte on a pipe it waits on) so it can exec the command.",
		"The article writes its own PID (os.Getpid) to tasks: the runtime is limited, not the container. And v1's tasks file moves one thread; cgroup.procs moves them all.",
	},
	"cgroup.removed": {
		"After stepbox exits, however the container ended, its cgroup directory must be gone.",
		"os.Remove (rmdir(2)) the cgroup after cmd.Wait returns, on every path, failures included; retry briefly on EBUSY.",
		"rmdir fails with `device or resource busy` while any process is inside: with the article's `write my own PID`, the runtime itself is.",
	},
	"cgroup.separate": {
		"Two containers running at the same time must each have a cgroup of their own.",
		"Name each cgroup uniquely, e.g. stepbox-<random hex> with crypto/rand, and create it with os.Mkdir (which fails if it exists).",
		"A fixed name makes the second container fail with `file exists`, or share the first one's limit, and the first to exit removes the other's cgroup.",
	},
	"cgroup.bad_cpus": {
		"A good --cpus must be accepted and a bad one (not a number, 0, negative, more than the machine has, NaN) refused with one line and exit 2, before any cgroup exists.",
		"Parse with strconv.ParseFloat while parsing flags; refuse NaN and Inf, below 0.01 (1 ms per 100 ms period, the kernel's minimum) and above runtime.NumCPU().",
		"ParseFloat accepts \"NaN\" and \"Inf\" without error, and a check made only after the cgroup was created leaves the cgroup behind.",
	},
	"cgroup.from_start": {
		"The command must never run a moment outside its cgroup: look at the order in which the parent starts the child, moves it into the cgroup and lets it go on.",
		"Write the child's PID to the cgroup's cgroup.procs while the child is still blocked reading the sync pipe, and only then write the byte that releases it; the command it execs inherits the cgroup.",
		"Moving the process after it has started looks fine in every limit you read later, but the command ran unlimited until then; and joining the cgroup from the runtime itself (the article's way) limits the wrong process.",
	},
	"cli.signals": {
		"Ctrl-C must still reach the command: look at how the runtime keeps itself alive on SIGINT and SIGQUIT, and what that does to the child it starts.",
		"signal.Notify(ch, SIGINT, SIGQUIT, ...) installs a handler, and handled signals go back to their default in a child at execve; signal.Ignore sets SIG_IGN, which execve keeps.",
		"An ignored disposition is inherited through fork and exec, so a runtime that ignores SIGINT to survive Ctrl-C hands the container a command that cannot be interrupted; /proc/self/status's SigIgn shows it.",
	},
	"cli.fds": {
		"Only stdin, stdout and stderr should reach the command: list /proc/self/fd inside the container and ask where each other number came from.",
		"The sync pipe arrives in the child as fd 3 (ExtraFiles[0]) without close-on-exec; close it (syncPipe.Close) once the byte is read, before execve.",
		"A descriptor left open leaks the runtime's plumbing into the container: a pipe the command could write to, or, later, a netlink socket in the host's network namespace.",
	},

	// 06 user namespace
	"userns.ns_new": {
		"/proc/self/ns/user inside must differ from the host's: the container needs a user namespace of its own, made together with the others.",
		"Add unix.CLONE_NEWUSER to Cloneflags and give SysProcAttr UidMappings and GidMappings, so the namespace has IDs at all.",
		"The article stops at adding CLONE_NEWUSER to a list: without maps every ID inside is nobody (65534) and the command has no capabilities.",
	},
	"userns.root_inside": {
		"With --uid-map and --gid-map given, the command must be uid 0 and gid 0 inside, and /proc/self/uid_map and gid_map must show exactly those maps. Does run accept the flags and hand them on?",
		"Parse CONTAINER:HOST:SIZE into a syscall.SysProcIDMap for UidMappings and GidMappings, and set SysProcAttr.Credential to uid 0, gid 0 so the child switches to root of the namespace before exec.",
		"A map does not change who the child is: started by root it is still the host's root, which the map leaves out, so inside it is nobody until setuid(0). Rootless runs hide this, since there your own ID is the mapped one.",
	},
	"userns.host_ids": {
		"Seen from the host, every process of the running container must belong to the mapped host uid and gid, not to root.",
		"Map the container's 0 to an unprivileged host range in UidMappings and GidMappings (HostID 100000 for --uid-map 0:100000:65536), never HostID 0.",
		"Mapping 0 to 0 (the easy way to make everything work) gives a container whose root is the host's root: a user namespace in name only.",
	},
	"userns.files_owned": {
		"A file the container's root creates in its rootfs must, on the host, belong to the mapped uid and gid.",
		"Map the container's 0 to the --uid-map and --gid-map host IDs in UidMappings and GidMappings, and make the child uid 0, gid 0 inside (Credential).",
		"With the maps right but the child left as the host's root, or 0 mapped to 0, files come out owned by root on the host.",
	},
	"userns.no_host_root": {
		"The container's root must not be able to write a file in its rootfs that belongs to the host's root: its power ends where its IDs do.",
		"Map the container's 0 to an unprivileged host range, never to the host's 0; as root, keep setgroups allowed (GidMappingsEnableSetgroups) so Credential clears root's supplementary groups.",
		"Root's supplementary groups survive into the container unless cleared, and still open files of host group 0; mapped to the host's 0, the container keeps real root's power over every host file.",
	},
	"userns.rootless": {
		"Run by an ordinary user with no privileges, the container must still start, with the user as root inside. What may an ordinary user map, and what may it not do?",
		"As an ordinary user map only your own IDs (0:UID:1, 0:GID:1), and write \"deny\" to setgroups before gid_map: GidMappingsEnableSetgroups false. Skip the cgroup, which only root may make here.",
		"Writing gid_map fails with EPERM unless setgroups is denied first; and the user namespace must be created in the same clone as the others, which it then owns, or creating them needs root.",
	},

	// 07 network namespace, veth pair and bridge
	"net.ns_new": {
		"/proc/self/ns/net inside must differ from the host side's: the container needs a network of its own.",
		"Add unix.CLONE_NEWNET to Cloneflags.",
		"A new network namespace has only lo, and lo is down: the flag alone cuts the container off, even from itself, until the rest of the step is done.",
	},
	"net.interfaces": {
		"Inside, list the interfaces: only lo and the container's own, both up, the container's with an address, and a default route through a gateway. Which of these is missing?",
		"In the child set lo up (netlink.LinkSetUp). In the parent, while the child waits: netlink.LinkAdd a netlink.Veth, move its peer into the child with netlink.LinkSetNsPid, then in that namespace (netlink.NewHandleAt) add the address, set it up and add the default route via the gateway.",
		"lo starts down in every new network namespace, and a default route can only be added once its interface is up and has an address in the gateway's subnet.",
	},
	"net.gateway": {
		"From inside, the container must reach its gateway address over TCP: is that address anywhere on the host side, and is the cable plugged in at that end?",
		"Create the bridge (netlink.Bridge) on the host side, put the gateway address on it (netlink.AddrAdd), plug the host end of the veth pair in (netlink.LinkSetMaster) and set the bridge and that end up.",
		"Both ends of a veth pair, and the bridge, must be up: an address on a down interface answers nothing, with no error anywhere.",
	},
	"net.containers": {
		"Two containers started together must get different addresses and reach each other through the bridge.",
		"Allocate each container the lowest address not in use, judged from what exists (the host ends' names or the bridge's neighbours), under a lock, and plug every host end into the same bridge.",
		"A fixed address, or two runtimes picking the lowest free one at the same moment, gives both containers one address, or `file exists` for the second veth pair: take a lock around the choice and the creation.",
	},
	"net.cleaned": {
		"After the containers exit, normally or after a failure, the host side must look as it did: links, addresses, routes and rules. Only the bridge they share may stay, ready for the next container.",
		"Create the veth's peer straight inside the child's network namespace (netlink.Veth with PeerNamespace) and hold nothing of that namespace once it is set up (close the netns handle, bind-mount it nowhere): when the container's last process exits, the kernel deletes the namespace, and the pair with it.",
		"A network namespace lives as long as anything holds it: a process, an open /proc/PID/ns/net, a bind mount as `ip netns add` makes. Pin it and the host end stays on the bridge for good. (Deleting the pair yourself works too, but waits tens of milliseconds on the kernel.)",
	},

	// 08 overlay: a read-only image under a writable layer per container
	"overlay.image_unchanged": {
		"The container must be able to write, delete and rename the image's files, yet the image directory on the host must not change at all. Where do the container's writes land?",
		"Mount an overlay (fsopen(\"overlay\"), fsconfig lowerdir=IMAGE, upperdir=STATE/containers/ID/upper, workdir=STATE/containers/ID/work, fsmount) and attach it with move_mount as the directory you pivot into, instead of bind-mounting the image.",
		"Mounted by the child inside its user namespace, the overlay fails every copy-up of a file of the host's root (a copy keeps its owner, an id the namespace does not map): create it in the parent, as root, and pass the mount fd to the child.",
	},
	"overlay.isolated": {
		"Two containers started from one image at the same time must each see only their own changes. What do they share besides the image?",
		"Give every container its own directory under STATE/containers, named by a unique id (random hex), holding its upper, work and merged directories; os.Mkdir, not MkdirAll, so a clash fails instead of sharing.",
		"One fixed upper directory for all containers turns the copy-on-write layer into a shared disk: a file written in one container appears in the other, and overlayfs warns that the work directory is in use.",
	},
	"overlay.layer_removed": {
		"After the container exits its writes must go with it, unless --rm=false asked to keep them; kept layers must show in `stepbox layers`.",
		"After cmd.Wait, os.RemoveAll(STATE/containers/ID) in a defer (also when setup failed), skipped for --rm=false; `layers` reads STATE/containers and prints one line per ID.",
		"The overlay mount lives in the container's mount namespace, which the kernel tears down with its last process: there is nothing to unmount on the host, only the directories to delete, and forgetting them fills the disk one container at a time.",
	},
	"overlay.bad_upper": {
		"When the kernel refuses the overlay, the learner needs to know which directory is wrong and what to do: one line, exit 125.",
		"fsconfig fails with EINVAL; read(2) on the fsopen fd returns the kernel's reason (\"overlay: filesystem on ... not supported as upperdir\"). Wrap both with the upper directory and \"pass --state-dir DIR\".",
		"With mount(2) the reason goes only to dmesg and the runtime prints a bare \"invalid argument\" (or \"too many levels of symbolic links\"): upper and work must be on a local filesystem such as ext4, xfs, btrfs or tmpfs, never on an overlay, NFS or FUSE.",
	},

	// 09 lifecycle
	"life.detached": {
		"After `run -d` prints the id and exits, the container must go on running, with its output in a log: who is its parent now, and what ties its life to the command that started it?",
		"Start /proc/self/exe run again without -d (an internal flag) with Setsid, stdin/stdout/stderr on /dev/null and the container's output in STATE/containers/ID/log; wait on a pipe for \"started ID\" or an error line, then exit.",
		"Pdeathsig on the background runtime (or running the container from the launcher itself) kills the container the moment run -d returns; forgetting Setsid lets the terminal's Ctrl-C and hangup reach it.",
	},
	"life.ps": {
		"ps runs as a separate process, long after run: everything it shows must be on disk. What does run write, and when?",
		"Write STATE/containers/ID/state.json (id, command, created, PID, status) when the container starts and again when it ends; write it to a temporary file and rename(2) it into place, so ps never reads half a file.",
		"A state written only once, before the child starts, says \"created\" forever; a PID alone is not enough to call a container running: PIDs are reused, so record the runtime's start time (field 22 of /proc/PID/stat) too.",
	},
	"life.exec": {
		"exec must run the command in the container's namespaces, root and cgroup, with the user's stdin and stdout. Which process already has all of that?",
		"setns(2) into a user or mount namespace needs a single-threaded caller, which a Go program never is: let the init serve a unix socket (its listening fd passed down by the parent), receive the command with its three fds (SCM_RIGHTS, unix.ParseUnixRights) and ForkExec it with Files set to them.",
		"Starting the command with the init's own stdio sends its output to the container's log, not to exec's caller; answer with the exit status only once the reaper has waited for it.",
	},
	"life.stop_graceful": {
		"A container that handles SIGTERM must get the chance to shut down cleanly: what does stop send first?",
		"kill(PID 1 of the container, SIGTERM); then poll the state until the runtime records the end, for up to the grace period (-t, default 10s).",
		"From outside, a namespace's PID 1 gets only the signals it handles: a bare sleep as PID 1 ignores SIGTERM, which is one reason for the init; SIGKILL first gives the command no chance to save anything.",
	},
	"life.stop_kill": {
		"A command that ignores SIGTERM must still stop, but only after the grace period: what comes after the wait?",
		"If the state still says running after the grace period, kill(PID 1, SIGKILL): the kernel then kills every process of its PID namespace; wait again until the runtime records the end.",
		"Returning after the grace period without SIGKILL leaves the container running; sending SIGKILL at once (or with a grace of 0 by mistake) kills commands that would have ended cleanly.",
	},
	"life.reap": {
		"When a process's parent exits first, who becomes its parent inside the container, and who must wait for it?",
		"Orphans are re-parented to the namespace's PID 1: the init must call wait4(-1, &status, 0, nil) in a loop, taking any child, and recognise the command's PID among them.",
		"Waiting only for the command (cmd.Wait, or wait4 on its PID) leaves every orphan a zombie until the container ends; a bare command as PID 1 (--init=false) rarely reaps either.",
	},
	"life.init_signals": {
		"With the init as PID 1, a signal sent to the container goes to the init: how does the command get it, and how does the runtime learn how the command ended?",
		"signal.Notify(ch, SIGTERM, SIGINT, SIGHUP, ...) in the init and unix.Kill(commandPID, sig) for each; from the command's wait status return ExitStatus(), or 128+Signal() if a signal ended it.",
		"An init that catches signals without passing them on makes the container deaf: stop then always waits out the grace period. PID 1 cannot re-raise the command's signal on itself (it would be ignored): exit 128+N.",
	},
	"life.rm_clean": {
		"After rm, nothing of the container may remain on the host: list what run created for it, and who removes each piece.",
		"The runtime removes the cgroup (rmdir) and the network (the veth, the bridge with the last container) when the container ends; rm removes STATE/containers/ID with os.RemoveAll: state.json, the log, the upper and work directories.",
		"Removing only state.json hides the container from ps but leaves its writable layer and log filling the disk; an overlay mounted in the container's own mount namespace needs no unmount on the host.",
	},
	"life.crashed": {
		"If the runtime waiting for a container is SIGKILLed, nobody records the end or removes the cgroup and the network: what do ps and rm see?",
		"ps: a container is running only while the runtime its state records is alive, same PID and same start time; rm: when the state does not say exited, remove the cgroup and the network the state recorded, then the directory.",
		"kill(pid, 0) succeeds on a zombie and on a reused PID: compare the start time in /proc/PID/stat, and treat state Z as gone; without Pdeathsig the container would outlive its runtime, unsupervised.",
	},
	"life.bad_input": {
		"Each lifecycle command gets an id, maybe a signal, maybe -f: every bad one must get one clear line and the documented status, and change nothing.",
		"Find the container (exact id or unique prefix; anything but hex is no id, never a path) before acting: not found is 125; parse the signal with unix.SignalNum (TERM, SIGTERM or a number), 2 if it does not parse; rm of a running container without -f is 125.",
		"Joining an unchecked id to the state directory lets `rm ../../x` remove any directory; rm of a running container must refuse without -f rather than leave a container whose directory is gone.",
	},

	// 10 security
	"sec.caps": {
		"Run `grep Cap /proc/self/status` inside: CapBnd, CapEff, CapPrm and CapInh must all be the default list, CapAmb zero. Which of the five sets does the child never touch?",
		"prctl(PR_CAPBSET_DROP, cap) for every capability up to /proc/sys/kernel/cap_last_cap that is not kept; prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL); then unix.Capset with version 3 and two data words for effective, permitted and inheritable.",
		"The bounding set must go first: dropping from it needs CAP_SETPCAP, which capset may already have taken. And capabilities belong to a thread: lock the OS thread (runtime.LockOSThread) and exec from it, or Go may exec from a thread that still has them all.",
	},
	"sec.cap_flags": {
		"Try `run --cap-drop ALL --cap-add NET_ADMIN ... grep CapEff /proc/self/status`: it must show 0000000000001000. Does the child get the flags the parent parsed?",
		"Parse --cap-add and --cap-drop as repeatable, comma-separated names (NET_ADMIN, cap_net_admin or ALL); compute default minus drops plus adds, and pass both flags on in childArgs.",
		"An unknown name must fail while parsing flags, exit 2 with one line, before anything is created; and an empty value (the child's \"--cap-add=\") must not count as a name.",
	},
	"sec.no_new_privs": {
		"`grep NoNewPrivs /proc/self/status` inside must say 1. It is set once, before the seccomp filter, and can never be cleared.",
		"unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), on the thread that will exec.",
		"Without no_new_privs, installing a filter needs CAP_SYS_ADMIN, so a runtime that installs it early, before dropping capabilities, works and still forgets the flag: a setuid program could then gain what the container dropped.",
	},
	"sec.seccomp": {
		"With --cap-add ALL every capability is back, so only the filter can refuse mount, unshare, keyctl or reboot. `grep Seccomp /proc/self/status` must say 2.",
		"Build a []unix.SockFilter: load seccomp_data.arch (offset 4) and kill on a foreign one, load nr (offset 0), one JEQ and RET SECCOMP_RET_ERRNO|EPERM per denied call; for clone, load arg0 (offset 16) and JSET the namespace flags; clone3 returns ENOSYS. Install it with seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC).",
		"A filter on clone alone is not enough: unshare and setns make or join namespaces too, and clone3 hides its flags in memory a filter cannot read, so it must answer ENOSYS for programs to fall back to clone.",
	},
	"sec.masked": {
		"Inside, `cat /proc/interrupts` must print nothing. Which /proc files show the host, not the container?",
		"After mounting proc and before pivoting: for each masked path that exists, bind-mount /dev/null over a file (MS_BIND), mount an empty read-only tmpfs over a directory.",
		"A fresh proc in a new PID namespace hides other processes, not the kernel: kcore, keys, timer_list and interrupts describe the whole machine. Masks must be done before the seccomp filter forbids mount.",
	},
	"sec.readonly_paths": {
		"Inside, with --cap-add ALL, `echo 0 > /proc/sys/net/ipv4/ip_forward` must fail with \"Read-only file system\", and /proc/sys must show ro in /proc/self/mountinfo.",
		"Bind each of /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus onto itself (MS_BIND|MS_REC), then unix.MountSetattr(AT_FDCWD, path, AT_RECURSIVE, &MountAttr{Attr_set: MOUNT_ATTR_RDONLY}).",
		"A bind mount ignores MS_RDONLY when it is made: read-only needs a second call (a remount with MS_BIND|MS_REMOUNT|MS_RDONLY keeping the locked flags, or mount_setattr).",
	},
	"sec.read_only_root": {
		"`run --read-only ... touch /tmp/x` must fail with \"Read-only file system\"; without the flag it must work.",
		"Accept --read-only, pass it on to the child, and after mounting the root set MOUNT_ATTR_RDONLY on it with mount_setattr (not recursive: /proc and /dev stay as they are).",
		"After pivot_root the root is \"/\" and its old path is gone: make it read-only before the pivot, on the rootfs path, and before the seccomp filter forbids mount_setattr.",
	},
	"sec.devices": {
		"A device node the image brings (the harness adds /stepbox-device, the zero device) must not open inside: EACCES. /dev keeps its few bound devices.",
		"mount_setattr(rootfs, MOUNT_ATTR_NODEV) on the container's root, right after mounting it; /dev is a mount of its own, so the devices bound there still work.",
		"The overlay is mounted by the host's root, outside the user namespace, so the kernel honours its device nodes: a runtime that relies on \"mknod fails in a user namespace\" forgets the nodes that come with the image.",
	},
	"sec.attacks": {
		"Run `/probe report --attacks` inside: every attack must fail as the README's table says. The first one that succeeds names the missing defence.",
		"confine: drop the bounding set, clear the ambient set, capset, no_new_privs, seccomp filter, in that order, just before exec.",
		"Dropping capabilities is not enough: unshare(CLONE_NEWUSER) and keyctl need none. Those are the seccomp filter's.",
	},
	"sec.ordinary": {
		"A shell, ls, ps and a server on 127.0.0.1 must work inside. If nothing runs at all, look at the order of the child's steps.",
		"Install the filter last, after every mount, the pivot and the capability calls; deny only the calls on the list, and for clone only the namespace flags, so fork and threads still work.",
		"A filter installed before the runtime's own mounts makes the runtime fail on its first mount (\"cannot make / a private mount: operation not permitted\"): seccomp applies to the runtime too, from the moment it is installed.",
	},
	"sec.exec": {
		"Start a detached container, then `exec ID grep Cap /proc/self/status`: the sets must be those of the command. Who starts exec's processes, and on which thread?",
		"Call confine in the child before it becomes the init, and make each prctl and capset on every thread with syscall.AllThreadsSyscall (build with CGO_ENABLED=0); install the filter with SECCOMP_FILTER_FLAG_TSYNC.",
		"runtime.LockOSThread confines one thread: the command, started from it, is fine, but the init starts exec's processes from other goroutines, on threads that still hold every capability and no no_new_privs.",
	},

	// 11 the OCI runtime command line
	"oci.create_waits": {
		"`create` must return while the container waits: everything set up, the command not yet run. What does your init do between setting up and execve, and who tells it to go on?",
		"Block the init before execve on something in the container's state directory that only `start` releases: runc's init opens a FIFO (exec.fifo) for writing, which blocks until start opens it for reading; a unix socket the init accept(2)s on works too. Pass its fd to the init, since after pivot_root the state directory is out of reach.",
		"Returning from create only once the command has run (or running it at create and pretending at start) breaks engines: podman and containerd set up the network namespace between create and start, and a command that already ran saw no network.",
	},
	"oci.start_runs": {
		"`start ID` must make the waiting init exec the command, and only once: a second start of the same container is an error.",
		"Load the container's state, refuse unless it is created, then release the init: open the FIFO's read end (or connect to its socket) and wait until the init has exec'd; record the status running.",
		"A start that only changes the state file, without reaching the init, returns 0 and nothing ever runs: engines then wait forever for the container's output.",
	},
	"oci.state": {
		"`state ID` must print the spec's JSON, and its status must follow the process: created, running, then stopped once it has exited, even though nothing told the runtime it exited.",
		"Marshal specs.State from github.com/opencontainers/runtime-spec/specs-go: ociVersion, id, status, pid, bundle (absolute), annotations (from config.json). Compute the status on each call: stopped when the recorded pid is gone (kill(pid, 0) fails with ESRCH, or /proc/PID/stat says Z or has another start time).",
		"A status read only from the state file stays running forever: the runtime is not the container's parent and never learns of its exit. And PIDs are reused: keep the process's start time beside its pid.",
	},
	"oci.pid_file": {
		"conmon and containerd's shim read --pid-file the moment create returns, to learn which process to watch. Is it there, and is it the init's pid?",
		"At the end of create, once the init runs and waits, write its pid (as the host sees it) to the --pid-file, to a temporary name first and then rename(2), so a reader never sees an empty file.",
		"Writing the pid file at start, or writing the runtime's own pid, leaves the engine watching nothing, or watching a process that exits at once: podman then says the container exited.",
	},
	"oci.kill": {
		"`kill ID TERM` must reach the container's process as SIGTERM, so it can end by its own handler; `kill ID 9` and `kill ID KILL` must work too.",
		"Parse the signal by name (TERM, SIGTERM) or number (15), default SIGTERM, and kill(2) the pid the state records; with --all, every pid in the container's cgroup.procs.",
		"Always sending SIGKILL looks fine until a program needs to clean up: podman stop sends SIGTERM first and waits. And a PID namespace's PID 1 gets only the signals it has a handler for: a shell with a trap does.",
	},
	"oci.delete": {
		"`delete ID` must refuse a container that still runs (unless --force), and remove a stopped one whole: state directory and cgroup.",
		"Refuse unless the status is stopped; with --force, SIGKILL and wait until the process is gone. Then rmdir(2) the cgroup directory under each hierarchy (linux.cgroupsPath, deepest first), run the poststop hooks, and remove the state directory.",
		"A cgroup directory cannot be removed with rm -r, only with rmdir, and only once no process is left in it; forgetting it leaves one empty cgroup per container on the host for good.",
	},
	"oci.relative_root": {
		"root.path in config.json may be relative (\"rootfs\"). Relative to what? Run create from another directory than the bundle.",
		"Make --bundle absolute first, then filepath.Join(bundle, root.path) when root.path is not absolute.",
		"filepath.Abs(root.path) resolves against the runtime's working directory, which engines never set to the bundle: podman and containerd run the runtime from their own directories.",
	},
	"oci.log_json": {
		"Engines do not read the runtime's stderr: they pass --log FILE --log-format json and report the last error line of FILE. Does your runtime write it?",
		"Parse the global flags before the command; on every error, append one JSON object per line, {\"level\":\"error\",\"msg\":\"...\",\"time\":\"RFC 3339\"}, to the --log file, and still print the line on stderr.",
		"A runtime that logs text (or nothing) under --log-format json fails with an empty message in ctr and podman: the user sees \"exit status 1\" and nothing else.",
	},
	"oci.exec": {
		"A process started by `exec ID` must be inside the container: the container's hostname, root and processes, with exec's stdout and exit status.",
		"On a locked OS thread, setns(2) into the namespaces of /proc/PID/ns (uts, ipc, net, cgroup, and pid, which applies to the thread's children), then start the process from that thread; put it in the container's cgroup; give it the container's root (chroot into /proc/PID/root) before it execs.",
		"A Go program is multithreaded, and the kernel refuses setns into a mount or user namespace from a multithreaded process: runc does it in C before the Go runtime starts. setns on an unlocked goroutine changes a random thread.",
	},
	"oci.bad_bundle": {
		"Try create with no config.json, with invalid JSON, with ociVersion 2.0.0, with a root.path that does not exist, and twice with the same id: each must fail with one clear line, and leave nothing.",
		"Read config.json with the spec's Go types and check ociVersion and root.path before creating anything; claim the id with mkdir(2) of ROOT/ID, which fails with EEXIST when it is taken; on a later failure, kill the init and remove the cgroup and the directory.",
		"Checking the bundle after the state directory or the cgroup exist leaves them behind when it fails; a second create of a taken id must not touch (or delete) the first container.",
	},
}

// HintFor returns a check's hint at level (0-based), or an error for a
// check or level that has none.
func HintFor(id string, level int) (string, error) {
	hints, ok := Hints[id]
	if !ok {
		return "", fmt.Errorf("check %s has no hints", id)
	}
	if level < 0 || level >= HintLevels {
		return "", fmt.Errorf("hint level %d: levels are 0 to %d", level, HintLevels-1)
	}
	return hints[level], nil
}

// FixOrder lists the checks of step in the order to fix them: the step's
// own checks first, then the earlier steps'. On a learner's copy, the
// earlier checks usually fail for the same missing piece (a flag the step
// adds), so the step's own checks name the cause; an earlier check that
// fails alone is a regression, and comes next.
func FixOrder(step int) []Check {
	var own, earlier []Check
	for _, c := range ChecksUpTo(step) {
		if c.Step == step {
			own = append(own, c)
		} else {
			earlier = append(earlier, c)
		}
	}
	return append(own, earlier...)
}
