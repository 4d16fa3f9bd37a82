package oci

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Result is what one client command did.
type Result struct {
	Argv           []string
	Stdout, Stderr string
	Exit           int
}

func (r Result) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Argv, " "), r.Exit,
		strings.TrimSpace(r.Stdout), strings.TrimSpace(r.Stderr))
}

// CommandTimeout bounds one client command.
const CommandTimeout = 90 * time.Second

// Run runs argv in the sandbox and waits for it (at most CommandTimeout).
// An error means it could not be run, or timed out; a non-zero exit is
// in the result.
func (s *Sandbox) Run(argv ...string) (Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := s.Command(argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 2 * time.Second // a daemon that kept our pipes does not hold the result
	r := Result{Argv: argv}
	if err := cmd.Start(); err != nil {
		return r, fmt.Errorf("starting %s: %w", argv[0], err)
	}
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err := cmd.Wait()
	stop()
	r.Stdout, r.Stderr = stdout.String(), stderr.String()
	if ctx.Err() != nil {
		return r, fmt.Errorf("%s timed out after %v\n%s", argv[0], CommandTimeout, r)
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		r.Exit = exitErr.ExitCode()
	default:
		return r, fmt.Errorf("running %s: %w", argv[0], err)
	}
	return r, nil
}

// Podman drives podman with private state, the cgroupfs manager, events
// in a file, no network and rlimits within this machine's hard limits.
type Podman struct {
	State        string // root, runroot and tmpdir live under it
	Runtime      string // the OCI runtime's path
	CgroupParent string // a cgroup path like /stepbox-oci-1a2b3c4d
}

// Args is a podman command line with the global flags.
func (p Podman) Args(args ...string) []string {
	return append([]string{"podman",
		"--root", filepath.Join(p.State, "storage"),
		"--runroot", filepath.Join(p.State, "run"),
		"--tmpdir", filepath.Join(p.State, "tmp"),
		"--runtime", p.Runtime,
		"--cgroup-manager", "cgroupfs",
		"--events-backend", "file",
	}, args...)
}

// RunFlags are the flags every `podman run` gets.
func (p Podman) RunFlags() []string {
	return []string{
		"--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
		"--network", "none",
		"--cgroup-parent", p.CgroupParent,
	}
}

// Containerd is a private containerd: its root, state, sockets and
// config live under Dir, and it runs in the sandbox.
type Containerd struct {
	Dir    string
	Socket string
	daemon *exec.Cmd
	log    *os.File
}

// containerdConfig keeps every path containerd writes under dir and
// turns off what would reach outside it (CRI brings CNI networking).
const containerdConfig = `version = 2
root = "%[1]s/root"
state = "%[1]s/state"
temp = "%[1]s/tmp"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "%[1]s/containerd.sock"

[ttrpc]
  address = "%[1]s/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "%[1]s/opt"
`

// StartContainerd starts a private containerd in the sandbox and waits
// until it answers.
func (s *Sandbox) StartContainerd(dir string) (*Containerd, error) {
	for _, d := range []string{"root", "state", "tmp", "opt"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return nil, err
		}
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, fmt.Appendf(nil, containerdConfig, dir), 0o644); err != nil {
		return nil, err
	}
	log, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		return nil, err
	}
	c := &Containerd{Dir: dir, Socket: filepath.Join(dir, "containerd.sock"), log: log}
	c.daemon = s.Command("containerd", "--config", config)
	c.daemon.Stdout, c.daemon.Stderr = log, log
	if err := c.daemon.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("starting containerd: %w", err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r, err := s.Run(c.Ctr("version")...)
		if err == nil && r.Exit == 0 {
			return c, nil
		}
		if time.Now().After(deadline) {
			c.Stop()
			data, _ := os.ReadFile(log.Name())
			return nil, fmt.Errorf("containerd did not answer on %s within 30s: %v %v\n%s", c.Socket, err, r, tail(data, 20))
		}
	}
}

// Ctr is a ctr command line for this containerd, in its own namespace.
func (c *Containerd) Ctr(args ...string) []string {
	return append([]string{"ctr", "--address", c.Socket, "--namespace", "stepbox"}, args...)
}

// Stop stops containerd (SIGTERM, then SIGKILL after 10 s).
func (c *Containerd) Stop() {
	defer c.log.Close()
	_ = syscall.Kill(-c.daemon.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.daemon.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-c.daemon.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// Log is the end of containerd's log, for failure messages.
func (c *Containerd) Log() string {
	data, _ := os.ReadFile(c.log.Name())
	return tail(data, 30)
}

func tail(data []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
