package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/probe"
)

// The sandbox is the harness's containment: every binary under test runs
// inside a throwaway UTS, mount and network namespace made by the harness, so a
// broken program (one that forgets CLONE_NEWUTS, say) renames the sandbox,
// not the host. In the sandbox, / is made recursively shared, as on systemd
// hosts, so the classic propagation bugs show up on every machine. The
// sandbox is this same executable, re-run with sandboxEnv set: the init
// below takes over before main or the tests start.
const sandboxEnv = "STEPBOX_SANDBOX"

// sandboxExit is the status of a sandbox that could not run the binary.
const sandboxExit = 254

type sandboxSpec struct {
	Argv    []string `json:"argv"`
	Dir     string   `json:"dir"`
	Witness string   `json:"witness"`
	UID     int      `json:"uid,omitempty"`      // run the binary as this uid and gid
	JoinNet string   `json:"join_net,omitempty"` // join this network namespace first
	PIDFile string   `json:"pid_file,omitempty"` // write the binary's PID here once it runs
	TTY     bool     `json:"tty,omitempty"`      // stdin is a terminal: make it the binary's controlling one
	// Faults for one run, inside the sandbox only (see sandboxfaults.go).
	ReadOnly  string `json:"read_only,omitempty"`  // bind-mount this directory read-only over itself
	NoCgroups bool   `json:"no_cgroups,omitempty"` // cover every cgroup mount with a read-only tmpfs
	// CgroupJail: mount this cgroup of every hierarchy over its root
	// (cgroupjail.go), so what the binary makes is found whatever its name.
	CgroupJail string `json:"cgroup_jail,omitempty"`
	OverlayOn  string `json:"overlay_on,omitempty"` // mount an overlay on this directory
	// Session: serve many runs of the binary, one after another, instead
	// of one (session.go).
	Session bool `json:"session,omitempty"`
}

// Witness is what the sandbox saw of the world around the binary under
// test: its namespaces, and the sandbox's state (the container's "host
// side": hostname, mounts, network) before and after.
type Witness struct {
	BinPID     int               `json:"bin_pid"`
	Namespaces map[string]string `json:"namespaces"`
	Before     State             `json:"before"`
	After      State             `json:"after"`
}

func init() {
	spec := os.Getenv(sandboxEnv)
	if spec == "" {
		return
	}
	code, err := runSandbox(spec)
	if err != nil {
		fmt.Fprintf(os.Stderr, "stepbox harness sandbox: %v\n", err)
		os.Exit(sandboxExit)
	}
	os.Exit(code)
}

func runSandbox(specJSON string) (int, error) {
	var spec sandboxSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return 0, err
	}
	os.Unsetenv(sandboxEnv)
	passNothingOn()
	if err := makeRootShared(); err != nil {
		return 0, err
	}
	if spec.CgroupJail != "" {
		if err := enterCgroupJail(spec.CgroupJail); err != nil {
			return 0, err
		}
	}
	if err := applyFaults(spec); err != nil {
		return 0, err
	}
	// Everything from here runs on this thread: setns changes only the
	// calling thread, and the death signal is tied to the thread that
	// starts the child.
	runtime.LockOSThread()
	if err := JoinNetns(spec.JoinNet); err != nil {
		return 0, err
	}
	// Keep the mount table open: a careless container may mount over this
	// /proc, and the open file still reads the sandbox's table afterwards.
	mountinfo, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return 0, err
	}
	defer mountinfo.Close()
	w := Witness{Namespaces: probe.Collect(probe.Options{}).Namespaces, Before: readState(mountinfo, nil)}
	if spec.Session {
		return serveSession(spec, mountinfo)
	}

	cmd, err := startBinary(spec)
	if err != nil {
		return 0, err
	}
	w.BinPID = cmd.Process.Pid
	if spec.PIDFile != "" {
		_ = os.WriteFile(spec.PIDFile, []byte(strconv.Itoa(w.BinPID)), 0o644) // Live waits for it
	}
	code := exitCode(cmd.Wait())

	w.After = readState(mountinfo, w.Before.Net)
	data, _ := json.Marshal(w)
	return code, os.WriteFile(spec.Witness, data, 0o644)
}

// startBinary starts the binary under test in the sandbox, as spec says.
func startBinary(spec sandboxSpec) (*exec.Cmd, error) {
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir = spec.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	// If the sandbox dies, so does the binary under test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if spec.UID != 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: uint32(spec.UID), Gid: uint32(spec.UID)}
	}
	if spec.TTY {
		cmd.SysProcAttr.Setsid, cmd.SysProcAttr.Setctty = true, true // Ctty 0: stdin
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Argv[0], err)
	}
	return cmd, nil
}

// makeRootShared makes / private first, so nothing done in the sandbox
// propagates back to the host, then shared, so that new peer groups exist
// only inside the sandbox and a careless container propagates into it.
func makeRootShared() error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private in the sandbox: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, ""); err != nil {
		return fmt.Errorf("making / shared in the sandbox: %w", err)
	}
	return nil
}

// mountPoints lists "mount-point fstype source" for every mount in an
// open mountinfo file, sorted. Each call reads the table afresh.
func mountPoints(f *os.File) []string {
	data, err := readFrom(f)
	if err != nil {
		return []string{"unreadable: " + err.Error()}
	}
	mounts, _ := probe.ParseMountinfo(string(data))
	lines := make([]string, 0, len(mounts))
	for _, m := range mounts {
		lines = append(lines, m.Point+" "+m.FSType+" "+m.Source)
	}
	sort.Strings(lines)
	return lines
}

// exitCode turns a Wait error into a shell-style status: the exit code,
// or 128+N for a process killed by signal N.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return sandboxExit
	}
	if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return exitErr.ExitCode()
}

func readFrom(f *os.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// hostMountPoints is mountPoints of the calling process's mount table.
func hostMountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return []string{"unreadable: " + err.Error()}
	}
	defer f.Close()
	return mountPoints(f)
}
