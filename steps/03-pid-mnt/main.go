//go:build linux

// Step 03 of stepbox: the child also gets its own PID, mount and IPC
// namespaces, so the command is PID 1 and sees only its own processes.
//
//	stepbox run [--hostname NAME] CMD [ARG...]
//
// "run" starts a second copy of this same program, /proc/self/exe, as
// "child" in new UTS, PID, mount and IPC namespaces; the child sets the
// hostname, makes its mounts private, mounts a fresh /proc and replaces
// itself with CMD.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// usage ends the error line when the command line is malformed.
const usage = "stepbox run [--hostname NAME] CMD [ARG...]"

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
	hostname string   // the container's hostname
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
	flags.StringVar(&cfg.hostname, "hostname", "container", "the container's hostname")
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
	return cfg, nil
}

// ---- The parent: "stepbox run" ----

// parent checks the command line, starts the child and waits for it.
func parent(args []string) int {
	cfg, err := parseRun(args)
	if err != nil {
		return failed(exitUsage, err)
	}
	status, err := runContainer(cfg)
	if err != nil {
		return failed(exitRuntime, err)
	}
	return status
}

// runContainer re-executes this program as "child" and waits for it.
// /proc/self/exe is the running binary, so this works however stepbox
// was started (go run, a relative path, a renamed copy).
func runContainer(cfg config) (int, error) {
	cmd := exec.Command("/proc/self/exe", childArgs(cfg)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// clone(2) creates the child in these new namespaces.
		Cloneflags: unix.CLONE_NEWUTS | // its own hostname
			unix.CLONE_NEWPID | // its own process IDs: the command will be PID 1
			unix.CLONE_NEWNS | // its own mount table
			unix.CLONE_NEWIPC, // its own System V IPC and POSIX message queues
	}
	if err := startChild(cmd); err != nil {
		return 0, err
	}
	return waitForChild(cmd)
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

// childArgs rebuilds the command line for the child from cfg. The "--"
// ends the flags, so a command that starts with "-" stays the command.
func childArgs(cfg config) []string {
	args := []string{
		"child",
		"--hostname=" + cfg.hostname,
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
	cfg, err := parseRun(args)
	if err != nil {
		return failed(exitRuntime, err)
	}
	if err := setupContainer(cfg); err != nil {
		return failed(exitRuntime, err)
	}
	return execCommand(cfg.command)
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
	if err := mountProc(); err != nil {
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

// mountProc mounts a fresh proc on /proc. ps and top read /proc, and the
// /proc we inherited still describes the host's PID namespace; a proc
// mounted by a process in the new PID namespace lists only that
// namespace's processes. The mount exists only in our mount namespace,
// so it hides the host's /proc from the container alone.
func mountProc() error {
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("cannot mount proc on /proc: %w", err)
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
		return failed(exitNotFound, fmt.Errorf("command %q not found", name))
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
