//go:build linux

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Step 11 speaks the OCI runtime command line, the one runc defines and
// podman (through conmon), containerd (through its shim) and the OCI
// runtime-tools suite call:
//
//	stepbox [--root DIR] [--log FILE] [--log-format text|json] [--debug] COMMAND ...
//	  create [--bundle DIR] [--pid-file F] [--console-socket S] ID
//	  start ID | state ID | kill [--all] ID [SIGNAL] | delete [--force] ID
//	  run [--bundle DIR] [--detach] [--pid-file F] [--console-socket S] ID
//	  exec [--process F | CMD ARG...] [--detach] [--pid-file F] [--tty] [--cwd D] [--env K=V] ID
//	  ps [--format table|json] ID | features | --version
//
// The course's own "run [flags] CMD" (steps 01 to 10) stays as it was:
// dispatchOCI tells the two apart and leaves the course's commands alone.

// ociVersionLine is what --version prints, runc's shape.
const ociVersionLine = "stepbox version 0.11.0\nspec: 1.0.2"

// defaultOCIRoot is where containers' state lives, as /run/runc is runc's:
// a tmpfs, so a reboot, which ends every container, forgets them too.
const defaultOCIRoot = "/run/stepbox"

// globals are the flags that come before the command.
type globals struct {
	root      string
	logFile   string
	logFormat string
	debug     bool
	given     bool // any global flag was on the command line: an OCI caller
}

// ociCommands are the commands only the OCI command line has.
var ociCommands = []string{"create", "start", "state", "delete", "features", "oci-init", "oci-exec"}

// dispatchOCI runs an OCI command and returns true, or returns false
// for the course's own command line, which main.go's dispatch handles.
func dispatchOCI(args []string) (int, bool) {
	g, rest, err := parseGlobals(args)
	if err != nil {
		return failed(exitUsage, err), true
	}
	setupLog(g)
	if len(rest) == 0 {
		if g.given {
			return ociFailed(exitUsage, errors.New("missing command (create, start, state, kill, delete, run, exec, ps, features)")), true
		}
		return 0, false
	}
	cmd, cmdArgs := rest[0], rest[1:]
	if !g.given && !slices.Contains(ociCommands, cmd) && !looksOCI(cmd, cmdArgs, g.root) {
		return 0, false
	}
	return runOCI(g, cmd, cmdArgs), true
}

// runOCI runs one OCI command.
func runOCI(g globals, cmd string, args []string) int {
	switch cmd {
	case "create":
		return createCommand(g, args)
	case "start":
		return startCommand(g, args)
	case "state":
		return stateCommand(g, args)
	case "kill":
		return ociKillCommand(g, args)
	case "delete":
		return deleteCommand(g, args)
	case "run":
		return ociRunCommand(g, args)
	case "exec":
		return ociExecCommand(g, args)
	case "ps":
		return ociPsCommand(g, args)
	case "features":
		return featuresCommand()
	case "oci-init":
		return ociInit(args) // internal: the container's first process
	case "oci-exec":
		return ociExecChild(args) // internal: a process exec starts
	}
	return ociFailed(exitUsage, fmt.Errorf("unknown command %q (create, start, state, kill, delete, run, exec, ps, features)", cmd))
}

// looksOCI tells an OCI call without global flags from the course's:
// "run" with an OCI-only flag (--bundle, --pid-file, ...); "kill",
// "exec" and "ps" naming a container of the OCI root, or one that
// stepbox run's store does not have either: an engine's call for a
// container that is gone must fail naming the OCI root, where it looked.
func looksOCI(cmd string, args []string, root string) bool {
	switch cmd {
	case "run":
		for _, a := range args {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if !strings.HasPrefix(a, "-") {
				return false
			}
			if slices.Contains([]string{"bundle", "b", "pid-file", "console-socket", "no-pivot", "no-new-keyring", "preserve-fds", "detach", "keep"}, name) {
				return true
			}
		}
	case "kill", "exec", "ps":
		if cmd == "exec" {
			args = skipTTYFlags(args) // runc's exec takes -t too: the id decides
		}
		// The course's own take only --state-dir before the id; any
		// other flag is the OCI command's (--pid-file, --process, --all).
		if len(args) > 0 && strings.HasPrefix(args[0], "-") {
			name, _, _ := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
			return name != "state-dir"
		}
		if len(args) > 0 {
			_, err := os.Stat(filepath.Join(root, args[0], "state.json"))
			return validID(args[0]) == nil && (err == nil || !courseHas(args[0]))
		}
	}
	return false
}

// skipTTYFlags drops the leading -t, --tty, -i and -it of an "exec":
// both the course's exec and runc's take them.
func skipTTYFlags(args []string) []string {
	for len(args) > 0 && slices.Contains([]string{"-t", "--tty", "-i", "-it"}, args[0]) {
		args = args[1:]
	}
	return args
}

// courseHas reports whether stepbox run's default store has a container
// whose id starts with id (the course's commands take a prefix).
func courseHas(id string) bool {
	entries, _ := os.ReadDir(filepath.Join(defaultStateDir, "containers")) // none yet: it has none
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), id) {
			return true
		}
	}
	return false
}

// parseGlobals reads the global flags, runc's spellings, up to the
// command. -v and --version print the version.
func parseGlobals(args []string) (globals, []string, error) {
	g := globals{root: defaultOCIRoot, logFormat: "text"}
	f := newFlagSet("stepbox")
	f.StringVar(&g.root, "root", g.root, "where containers' state lives")
	f.StringVar(&g.logFile, "log", "", "where errors are logged")
	f.StringVar(&g.logFormat, "log-format", g.logFormat, "text or json")
	f.BoolVar(&g.debug, "debug", false, "log more")
	systemd := f.Bool("systemd-cgroup", false, "refused: there is no systemd here")
	version := f.Bool("version", false, "print the version")
	f.BoolVar(version, "v", false, "print the version")
	f.String("rootless", "auto", "accepted and ignored")
	f.String("criu", "", "accepted and ignored: no checkpoints")
	if err := f.Parse(args); err != nil {
		return g, nil, fmt.Errorf("%w (usage: stepbox [--root DIR] [--log FILE] [--log-format text|json] COMMAND ...)", err)
	}
	f.Visit(func(*flag.Flag) { g.given = true })
	switch {
	case *version:
		fmt.Println(ociVersionLine)
		os.Exit(0)
	case *systemd:
		return g, nil, errors.New("--systemd-cgroup is not supported: stepbox writes cgroupfs itself (drop the flag, or use --cgroup-manager cgroupfs in podman)")
	case g.logFormat != "text" && g.logFormat != "json":
		return g, nil, fmt.Errorf("--log-format %q: use text or json", g.logFormat)
	}
	root, err := filepath.Abs(g.root)
	if err != nil {
		return g, nil, fmt.Errorf("--root %q: %w", g.root, err)
	}
	g.root = root
	return g, f.Args(), nil
}

// newFlagSet is a flag set that prints nothing: errors become our line.
func newFlagSet(name string) *flag.FlagSet {
	f := flag.NewFlagSet(name, flag.ContinueOnError)
	f.SetOutput(io.Discard)
	return f
}

// parseWithIDs parses flags that may also come after the positional
// arguments (runc accepts "delete ID --force"), up to max positionals;
// after that many, the rest is left alone (exec's command).
func parseWithIDs(f *flag.FlagSet, args []string, max int) ([]string, error) {
	var positional []string
	for {
		if err := f.Parse(args); err != nil {
			return nil, err
		}
		args = f.Args()
		if len(args) == 0 || len(positional) == max {
			return append(positional, args...), nil
		}
		positional, args = append(positional, args[0]), args[1:]
		if len(positional) == max {
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			return append(positional, args...), nil
		}
	}
}
