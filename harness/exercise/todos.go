package exercise

// A Todo is one TODO comment in a step's starter. It goes on lines of its
// own above (or, with After, below) the line of the previous step's
// source that holds Anchor, which must occur there exactly once. Text says
// what the step needs, never how: the checks and `make hint` do the rest.
type Todo struct {
	File   string // the file of the previous step; main.go when empty
	Anchor string
	After  bool
	Text   string
}

// Todos are the TODOs of each step's starter, by step. Keep anchors few
// and short: the steps' code changes, and TestStartersApply says when an
// anchor stops matching.
var Todos = map[int][]Todo{
	2: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: `the container gets a hostname of its own: accept --hostname NAME (default "container", 1 to 64 bytes, or exit 2), and hand it on to the child.`},
		{Anchor: "cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr", After: true,
			Text: "start the child in a UTS namespace of its own, so that a hostname set inside can never rename the host."},
		{Anchor: "func setupContainer(cfg config) error {", After: true,
			Text: "set the container's hostname to the --hostname value before the command runs."},
	},
	3: {
		{Anchor: "Cloneflags: unix.CLONE_NEWUTS,",
			Text: "the child also needs PID, mount and IPC namespaces of its own: the command must be PID 1, with its own mount table and IPC objects."},
		{Anchor: "func setupContainer(cfg config) error {", After: true,
			Text: "mounts made in the container must never appear on the host (on most hosts / is a shared mount), and /proc must list only the container's processes."},
	},
	4: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --rootfs DIR (default ./rootfs), the directory that becomes the container's /, and hand it on to the child."},
		{Anchor: "status, err := runContainer(cfg)",
			Text: "a rootfs that does not exist must fail here, before anything is created: one line on stderr naming it, exit 125."},
		{Anchor: "if err := mountProc(); err != nil {",
			Text: "make the rootfs the container's /: the host's files out of reach, the old root no longer mounted, and nothing left behind in the rootfs. After it, the new root needs a fresh /proc and a /dev of its own with a working null device."},
	},
	5: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --cpus N (default 0.5), the container's CPU quota: a number from 0.01 to the number of CPUs; anything else exits 2 with one line, before anything is created. Hand it on to the child."},
		{Anchor: "if err := startChild(cmd); err != nil {",
			Text: "each container gets a cgroup of its own that limits it to --cpus of CPU. The child, never the runtime, must be in it before the command can run, and the cgroup must be gone when the container ends, however it ends."},
		{Anchor: "func child(args []string) int {", After: true,
			Text: "the command must not start before the parent has put this process in its cgroup."},
	},
	6: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept --uid-map and --gid-map CONTAINER:HOST:SIZE, which host IDs the container's IDs are (by default 0:100000:65536 for root, and for an ordinary user its own ID alone), and hand them on to the child."},
		{Anchor: "Cloneflags: unix.CLONE_NEWUTS |",
			Text: "the container needs a user namespace of its own with those maps, in which the command runs as uid 0 and gid 0: root inside, an unprivileged ID on the host. An ordinary user must be able to run it too."},
		{Anchor: "cg, err := newCgroup()",
			Text: "an ordinary user may not create a cgroup here: run without one, and say so, rather than fail."},
		{Anchor: "if err := pivotRoot(cfg.rootfs); err != nil {",
			Text: "inside a user namespace the kernel creates no device nodes, and mounts a new /proc only while the host's is still in view: the container still needs its /proc and a working /dev/null."},
	},
	7: {
		{Anchor: "unix.CLONE_NEWIPC,",
			Text: "the container needs a network namespace of its own: its own interfaces, addresses, routes and ports."},
		{Anchor: "go forwardSignals(signals, cmd.Process)", After: true,
			Text: "while the child still waits, cable it to the host side: an interface of its own on a bridge all containers share, a free address for each container, and a default route through the bridge's gateway address. Whatever happens, remove what this container added, and the bridge with the last container. (An ordinary user may not: loopback alone, and say so.)"},
		{Anchor: "if err := makeMountsPrivate(); err != nil {",
			Text: "programs inside must be able to talk to each other over loopback."},
	},
	8: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "--rootfs is now the image, never written to: accept --state-dir DIR (default /var/lib/stepbox), where each container's writable layer lives, --rm (default true; --rm=false keeps the layer) and --image NAME, an image from the store."},
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "two new subcommands: `import [--state-dir DIR] FILE NAME` unpacks a tarball into the image store, safely; `layers [--state-dir DIR]` lists the kept layers, one line each starting with the container's id."},
		{Anchor: "cmd := exec.Command(\"/proc/self/exe\", childArgs(cfg)...)",
			Text: "the container's root is a copy-on-write overlay: the image below, a writable layer of this container's own above, on the host's disk under the state dir. Writes, deletions and renames inside must never reach the image, nor another container. The layer goes when the container ends, unless kept. When the kernel refuses the layer's directory, say which and what to do, in one line, exit 125. (An ordinary user gets the image read-only, and is told so.)"},
		{Anchor: "if err := bindMountRootfs(cfg.rootfs); err != nil {",
			Text: "the root to pivot into is the overlay the parent prepared, mounted in this mount namespace only."},
	},
	9: {
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept -d (run in the background: print the container's id and return once the command runs, its output going to a log in the container's directory) and --init (default true: PID 1 is a tiny init, the command its child)."},
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "new subcommands, each with --state-dir: ps (every container: id, PID, status, age, command), logs ID, exec ID CMD [ARG...] (run a command inside a running container, with this terminal's stdio, exiting with its status), stop [-t SECONDS] ID (SIGTERM, a grace period, then SIGKILL), kill ID [SIGNAL], rm [-f] ID (a running container only with -f; nothing left behind). An unknown id: one line, 125; a bad signal name: 2."},
		{Anchor: "func runContainer(cfg config) (status int, err error) {", After: true,
			Text: "record the container on disk, in its directory, so that other invocations can find it: as it is created, once it runs (its PID, cgroup, network, and which runtime waits for it) and once it has ended and been cleaned up. A runtime that is killed must leave enough behind for ps to call the container stopped and for rm to clean up."},
		{Anchor: "return execCommand(cfg.command)",
			Text: "with --init, stay as PID 1 instead: start the command as a child, pass the usual signals on to it, reap every child that exits (orphans too), and exit with the command's status. exec will need a way to start commands in here."},
	},
	10: {
		{Anchor: `flags.StringVar(&cfg.hostname, "hostname"`,
			Text: "accept --cap-add CAP and --cap-drop CAP (repeatable, comma-separated, names like NET_ADMIN or ALL; an unknown name exits 2) and --read-only, and hand them on to the child."},
		{Anchor: "if err := mountProc(cfg.rootfs); err != nil {",
			Text: "device nodes on the container's root (an image may bring its own) must not open; with --read-only the root takes no writes."},
		{Anchor: "if err := pivotRoot(cfg.rootfs); err != nil {",
			Text: "/proc still shows the host (kcore, keys, timer_list, interrupts, ...): those must read empty; /proc/sys, /proc/sysrq-trigger, /proc/irq and /proc/bus must take no writes."},
		{Anchor: "if cfg.init {",
			Text: "before the command runs or this process becomes its init, take away what it does not need: every capability but a small default list, in every set, for good; no gaining privileges through exec; and a seccomp filter that refuses mount, new namespaces, kexec, modules, reboot, keyctl, bpf, perf_event_open, ptrace and the clock, even when capabilities are given back. Ordinary programs must still work, and whatever the init starts, exec's processes too, must be just as confined."},
	},
	11: {
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "speak the OCI runtime command line too, as runc does, and leave the course's own commands as they are: global flags --root DIR (where containers' state lives), --log FILE and --log-format text|json (every error also goes to the log, as a JSON line {level, msg, time} in json); create [--bundle DIR] [--pid-file F] ID, start ID, state ID (the spec's JSON), kill ID [SIGNAL], delete [--force] ID, exec ID CMD [ARG...]. Read the bundle's config.json with github.com/opencontainers/runtime-spec/specs-go; a relative root.path is the bundle's. A bad bundle or a taken id: one line, a non-zero exit, nothing left behind."},
		{Anchor: "func runContainer(cfg config) (status int, err error) {", After: true,
			Text: "create must return while the container waits: set everything up in the container's first process as run does (namespaces, cgroup at linux.cgroupsPath, mounts, the new root), then make it wait before its final execve until start releases it; write --pid-file before create returns. The status is created, then running, then stopped once the process has gone, which state must notice by itself. delete refuses a container that is not stopped (unless --force) and removes its state and cgroups."},
		{Anchor: `cfg, err := parseStateFlags("exec", args, -2)`, File: "exec.go", After: true,
			Text: "OCI exec has no init of ours to ask: it must enter the namespaces of the container's process itself, and its root, and exit with its process's status."},
	},
}

// StarterPasses are the checks of a step that its starter passes anyway,
// by step and check ID, each with the reason. The exercise proof fails if
// a starter passes a new check not listed here, or fails one that is: a
// starter that already solves its step teaches nothing.
var StarterPasses = map[int]map[string]string{
	3: {"mnt.no_leak": "step 02 mounts nothing, so nothing can leak yet; the check bites as soon as the learner mounts /proc without first making / private"},
	5: {
		"cli.signals": "step 04 never touches signals, so nothing is ignored yet; the check bites when the learner keeps the runtime alive on Ctrl-C with signal.Ignore instead of signal.Notify",
		"cli.fds":     "step 04 hands the child nothing but stdio; the check bites when the learner adds the sync pipe and forgets to close it in the child",
	},
	10: {"sec.ordinary": "step 09 runs ordinary programs already; the check bites when the learner's filter or capability drop breaks them, or the filter goes in before the runtime's own mounts"},
}
