//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// namespaceFlag maps the spec's namespace types to clone(2) flags.
var namespaceFlag = map[specs.LinuxNamespaceType]uintptr{
	specs.PIDNamespace: unix.CLONE_NEWPID, specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace: unix.CLONE_NEWNS, specs.IPCNamespace: unix.CLONE_NEWIPC,
	specs.UTSNamespace: unix.CLONE_NEWUTS, specs.UserNamespace: unix.CLONE_NEWUSER,
	specs.CgroupNamespace: unix.CLONE_NEWCGROUP,
}

// wants reports whether the spec asks for a new namespace of this type.
func wants(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// hasNamespace reports whether the spec puts the container in a
// namespace of this type other than the runtime's: a new one, or one
// joined by path. A joined mount namespace is the container's as much as
// a new one: the root is built inside it, as runc does.
func hasNamespace(spec *specs.Spec, t specs.LinuxNamespaceType) bool {
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// initAttr is how the init is cloned: in the new namespaces the spec
// lists without a path, and with its uid and gid maps. The cgroup
// namespace is left out: created at clone, its root would be create's
// cgroup, not the container's; the init unshares it once it is in place.
func initAttr(spec *specs.Spec) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path == "" && ns.Type != specs.CgroupNamespace {
			attr.Cloneflags |= namespaceFlag[ns.Type]
		}
	}
	if wants(spec, specs.UserNamespace) {
		for _, m := range spec.Linux.UIDMappings {
			attr.UidMappings = append(attr.UidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		for _, m := range spec.Linux.GIDMappings {
			attr.GidMappings = append(attr.GidMappings, syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)})
		}
		// As in step 06: uid 0 of the namespace before exec, or the
		// init would start without capabilities.
		attr.GidMappingsEnableSetgroups = true
		attr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	return attr
}

// initFlags are the internal flags create passes to the init.
type initFlags struct {
	sync, start, console, preserve int
	bundle, id                     string
}

// ociInit is the container's first process. It runs on one locked
// thread to its end: the cgroup namespace it unshares, and the
// credentials it sets, belong to that thread, and execve keeps only it.
// One P is all it needs, and it makes each of the calls that reach
// every thread (setuid, setgroups, capabilities: each stops the world)
// cheaper, as in the child of "run" (main.go). create sets GOMAXPROCS=1
// in its environment, so the call below mostly has nothing to do.
func ociInit(args []string) int {
	runtime.LockOSThread()
	runtime.GOMAXPROCS(1)
	var fl initFlags
	f := newFlagSet("oci-init")
	f.IntVar(&fl.sync, "sync", 0, "")
	f.IntVar(&fl.start, "start", 0, "")
	f.IntVar(&fl.console, "console", 0, "")
	f.IntVar(&fl.preserve, "preserve-fds", 0, "")
	f.StringVar(&fl.bundle, "bundle", "", "")
	f.StringVar(&fl.id, "id", "", "")
	if err := f.Parse(args); err != nil || fl.sync == 0 || fl.start == 0 {
		return failed(exitUsage, fmt.Errorf("oci-init is internal: create starts it (%v)", err))
	}
	for _, fd := range []int{fl.sync, fl.start, fl.console} {
		if fd != 0 {
			unix.CloseOnExec(fd) // ours, not the program's
		}
	}
	sync := os.NewFile(uintptr(fl.sync), "sync")
	path, b, err := setUp(sync, fl)
	if err != nil {
		fmt.Fprintf(sync, "error %d %v\n", statusOf(err), err)
		return statusOf(err)
	}
	fmt.Fprintln(sync, "ready")
	sync.Close()
	return runWhenStarted(fl.start, path, b, fl.id)
}

// setUp waits for "go", then builds the container around this process
// and finds the program to run. It returns the program's path.
func setUp(sync *os.File, fl initFlags) (string, *bundle, error) {
	line, err := bufio.NewReader(sync).ReadString('\n')
	if err != nil {
		return "", nil, fmt.Errorf("create gave up before the container was set up: %w", err)
	}
	var st specs.State
	if err := json.Unmarshal([]byte(line), &st); err != nil {
		return "", nil, fmt.Errorf("bad state from create: %w", err)
	}
	b, err := loadBundle(fl.bundle)
	if err != nil {
		return "", nil, err
	}
	if err := buildContainer(b, st, fl.console); err != nil {
		return "", nil, err
	}
	path, status, err := findProgram(b.spec.Process)
	if err != nil {
		return "", nil, &exitError{status, err}
	}
	return path, b, nil
}

// buildContainer is create's work inside: namespaces that need the
// cgroup in place, the hostname, the mounts, the pivot, /proc's masks,
// the sysctls, the terminal, the limits.
func buildContainer(b *bundle, st specs.State, consoleFD int) error {
	spec := b.spec
	if wants(spec, specs.CgroupNamespace) {
		if err := unshareCgroup(); err != nil {
			return err
		}
	}
	if spec.Hostname != "" && wants(spec, specs.UTSNamespace) {
		if err := setHostname(spec.Hostname); err != nil {
			return err
		}
	}
	if hasNamespace(spec, specs.MountNamespace) {
		if err := buildRoot(b, st); err != nil {
			return err
		}
	} else if err := chrootOnly(b); err != nil {
		return err
	}
	if spec.Process.Terminal {
		if err := setupConsole(consoleFD, spec.Process.ConsoleSize); err != nil {
			return err
		}
	}
	if err := setRlimits(spec.Process.Rlimits); err != nil {
		return err
	}
	return setOOMScoreAdj(spec.Process.OOMScoreAdj)
}

// unshareCgroup gives this thread a cgroup namespace whose root is the
// cgroup it is now in, the container's: /proc/self/cgroup then reads "/".
func unshareCgroup() error {
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("cannot create the cgroup namespace: %w", err)
	}
	return nil
}

// findProgram looks process.args[0] up in the container's root, with
// the container's PATH: not found exits 127, not executable 126, and at
// create, as runc does, so a typo fails before anyone calls start.
func findProgram(p *specs.Process) (string, int, error) {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range p.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	os.Setenv("PATH", path) // for exec.LookPath, in this process only
	if p.Cwd != "" {
		if err := unix.Chdir(p.Cwd); err != nil {
			return "", exitRuntime, fmt.Errorf("cannot enter process.cwd %q: %w", p.Cwd, err)
		}
	}
	return lookPath(p.Args[0])
}

// chrootOnly is the root without a mount namespace: every
// mount would land in the host's table, so none is made (the config's
// mounts, masks and read-only paths are skipped, and the log says so);
// chroot(2) alone gives the program its root filesystem.
func chrootOnly(b *bundle) error {
	if len(b.spec.Mounts) > 0 || len(b.spec.Linux.MaskedPaths) > 0 || len(b.spec.Linux.ReadonlyPaths) > 0 {
		ociWarn("no mount namespace in config.json: its mounts, maskedPaths and readonlyPaths are skipped")
	}
	if err := writeSysctls(b.spec.Linux.Sysctl); err != nil {
		return err
	}
	if err := unix.Chroot(b.rootfs); err != nil {
		return fmt.Errorf("cannot chroot into %s: %w", b.rootfs, err)
	}
	return unix.Chdir("/")
}
