//go:build linux

// Step 01 of stepbox: the run -> child re-exec that container runtimes
// written in Go start with. Nothing is isolated yet.
//
//	stepbox run CMD [ARG...]
//
// "run" starts a second copy of this same program, /proc/self/exe, as
// "child", and the child replaces itself with CMD. Later steps start the
// child in new namespaces and let it prepare them before CMD runs.
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
const usage = "stepbox run CMD [ARG...]"

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
	command []string // the command and its arguments
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
	if err := flags.Parse(args); err != nil {
		return config{}, withUsage(err)
	}
	cfg.command = flags.Args()
	if len(cfg.command) == 0 {
		return config{}, withUsage(errors.New("missing command to run"))
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
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("cannot start the child process: %w", err)
	}
	return waitForChild(cmd)
}

// childArgs rebuilds the command line for the child from cfg. The "--"
// ends the flags, so a command that starts with "-" stays the command.
func childArgs(cfg config) []string {
	args := []string{
		"child",
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
