package oci

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A Sandbox is where a client (podman, containerd) runs: new mount, PID,
// UTS, IPC and network namespaces made by the test, with a private tmpfs
// on /run. Whatever the clients mount (/run/netns, their overlays), the
// state they keep in /run (/run/containerd, /run/libpod, /run/runc) and
// the network namespaces they make stay inside it, and every process
// they leave behind dies with the sandbox's PID 1.
//
// PID 1 is this same executable, re-run with holderEnv set (the init
// below takes over before main or the tests start). Commands are run in
// the sandbox with nsenter(1): a Go process cannot setns into a mount
// namespace once it has threads.
const holderEnv = "STEPBOX_OCI_HOLDER"

// holderHideUnified asks the holder to unmount the cgroup2 mount of a
// hybrid host in the sandbox: crun refuses hybrid hosts.
const holderHideUnified = "hide-unified"

func init() {
	mode, ok := os.LookupEnv(holderEnv)
	if !ok {
		return
	}
	os.Unsetenv(holderEnv)
	if err := hold(mode == holderHideUnified); err != nil {
		fmt.Fprintf(os.Stderr, "stepbox oci sandbox: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// hold is PID 1 of the sandbox: it sets the mounts up, says "ready" on
// stdout, then reaps orphans until stdin closes.
func hold(hideUnified bool) error {
	if os.Getpid() != 1 {
		return errors.New("the holder must be PID 1 of a new PID namespace")
	}
	// Private first, so nothing below propagates to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting /proc: %w", err)
	}
	if err := unix.Mount("tmpfs", "/run", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mounting a tmpfs on /run: %w", err)
	}
	if hideUnified {
		if point := hybridUnified(); point != "" {
			if err := unix.Unmount(point, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmounting %s in the sandbox: %w", point, err)
			}
		}
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	fmt.Println("ready")
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	for {
		select {
		case <-done:
			return nil
		default:
		}
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// loopbackUp brings lo up: containerd and podman talk over unix sockets,
// but a container's tools may expect a working loopback.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	req, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, req); err != nil {
		return fmt.Errorf("reading lo's flags: %w", err)
	}
	req.SetUint16(req.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, req); err != nil {
		return fmt.Errorf("bringing lo up: %w", err)
	}
	return nil
}

// hybridUnified is the cgroup2 mount point of a hybrid host (cgroup2
// beside v1 hierarchies), or "".
func hybridUnified() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	var v2 string
	v1 := false
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		sep := strings.Index(line, " - ")
		if len(fields) < 5 || sep < 0 {
			continue
		}
		switch strings.Fields(line[sep+3:])[0] {
		case "cgroup2":
			v2 = fields[4]
		case "cgroup":
			v1 = true
		}
	}
	if v1 {
		return v2
	}
	return ""
}

// Sandbox is the test's side of a running holder.
type Sandbox struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	PIDNS string // the sandbox's PID namespace, as /proc/PID/ns/pid reads
}

// StartSandbox starts a holder; hideUnified hides cgroup2 on a hybrid
// host (for crun).
func StartSandbox(hideUnified bool) (*Sandbox, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	mode := "plain"
	if hideUnified {
		mode = holderHideUnified
	}
	cmd.Env = append(os.Environ(), holderEnv+"="+mode)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS |
			syscall.CLONE_NEWIPC | syscall.CLONE_NEWNET,
		Pdeathsig: syscall.SIGKILL, // the test died: so does the sandbox, and all in it
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the sandbox: %w", err)
	}
	s := &Sandbox{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		s.Close()
		return nil, fmt.Errorf("the sandbox did not start (%q, %v)", line, err)
	}
	s.PIDNS, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", cmd.Process.Pid))
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Command is argv run inside the sandbox, in /.
func (s *Sandbox) Command(argv ...string) *exec.Cmd { return s.CommandIn("/", argv...) }

// CommandIn is argv run inside the sandbox in the directory dir
// (entering a mount namespace moves a process to its root). Not with
// nsenter --wd: it opens the directory before entering, so the working
// directory would be the host's mount, unreachable from the sandbox's
// namespace, and getcwd(2) would fail. env(1) changes it after.
func (s *Sandbox) CommandIn(dir string, argv ...string) *exec.Cmd {
	args := append([]string{"--target", strconv.Itoa(s.cmd.Process.Pid),
		"--mount", "--uts", "--ipc", "--net", "--pid", "--", "env", "--chdir=" + dir, "--"}, argv...)
	cmd := exec.Command("nsenter", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// Close ends the sandbox: its PID 1 exits, and the kernel kills every
// process left in its PID namespace. It waits until none is left.
func (s *Sandbox) Close() error {
	s.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		left := ProcessesIn(s.PIDNS)
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("processes left in the sandbox's PID namespace after it ended: %v", left)
		}
	}
}

// ProcessesIn lists the processes in the PID namespace ns ("pid:[N]").
func ProcessesIn(ns string) []string {
	entries, _ := os.ReadDir("/proc")
	var left []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if link, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && link == ns {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			left = append(left, e.Name()+" "+strings.TrimSpace(string(comm)))
		}
	}
	return left
}
