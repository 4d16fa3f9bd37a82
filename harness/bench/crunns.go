package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// crun 1.8 refuses a hybrid cgroup host (v1 controllers plus a cgroup2
// mount) as soon as cgroup2 has any controller ("cgroups in hybrid mode
// not supported, drop all controllers from cgroupv2"). It works when it
// cannot see the cgroup2 mount. Wrapping every run in
// "unshare -m sh -c 'umount ...; exec crun'" would charge crun for an
// extra unshare, sh and umount on each run, so instead one OS thread of
// the bench leaves the host's mount namespace once, unmounts cgroup2
// there only, and forks crun from that thread: a child is created in its
// parent thread's mount namespace. The host's namespace is never
// touched: the unmount happens only after checking that the thread's
// namespace differs from the host's.

// nsLauncher starts commands from a thread in a private mount namespace.
type nsLauncher struct {
	reqs chan launchReq
	done chan struct{}
}

type launchReq struct {
	cmd  *exec.Cmd
	errc chan error
}

// hybridCgroup2 returns the cgroup2 mount point when the host is
// hybrid (cgroup2 mounted beside v1 hierarchies), else "".
func hybridCgroup2() (string, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	var v2 string
	v1 := false
	for line := range strings.Lines(string(data)) {
		// "... mount-point options ... - fstype source superoptions"
		fields := strings.Fields(line)
		sep := strings.Index(line, " - ")
		if len(fields) < 5 || sep < 0 {
			continue
		}
		fstype := strings.Fields(line[sep+3:])[0]
		switch fstype {
		case "cgroup2":
			v2 = fields[4]
		case "cgroup":
			v1 = true
		}
	}
	if v1 && v2 != "" {
		return v2, nil
	}
	return "", nil
}

// startLauncher makes the thread and its namespace; unifiedPath is the
// cgroup2 mount to hide from crun.
func startLauncher(unifiedPath string) (*nsLauncher, error) {
	l := &nsLauncher{reqs: make(chan launchReq), done: make(chan struct{})}
	ready := make(chan error, 1)
	go func() {
		defer close(l.done)
		l.serve(unifiedPath, ready)
	}()
	if err := <-ready; err != nil {
		return nil, err
	}
	return l, nil
}

// serve runs on its own locked thread. It never unlocks: when it
// returns, Go ends the thread, and the private namespace with it, so no
// other goroutine ever runs in it.
func (l *nsLauncher) serve(unifiedPath string, ready chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() == unix.Getpid() {
		// The main thread is the one /proc/self shows (the harness
		// reads /proc/self/mountinfo): keep it in the host's namespace
		// by holding it here and serving from another thread.
		inner := make(chan struct{})
		go func() {
			defer close(inner)
			l.serve(unifiedPath, ready)
		}()
		<-inner
		runtime.UnlockOSThread()
		return
	}
	if err := privateNamespaceWithout(unifiedPath); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for req := range l.reqs {
		req.errc <- req.cmd.Start()
	}
}

// privateNamespaceWithout moves the calling thread to a new mount
// namespace, makes every mount in it private (so nothing propagates to
// the host) and lazily unmounts path in it.
func privateNamespaceWithout(path string) error {
	host, err := os.Readlink("/proc/thread-self/ns/mnt")
	if err != nil {
		return fmt.Errorf("reading the mount namespace: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	private, err := os.Readlink("/proc/thread-self/ns/mnt")
	if err != nil || private == host {
		return errors.New("the thread did not get its own mount namespace; not unmounting anything")
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmounting %s in a private namespace: %w", path, err)
	}
	return nil
}

// Start is a starter: it forks cmd from the namespaced thread.
func (l *nsLauncher) Start(cmd *exec.Cmd) error {
	errc := make(chan error, 1)
	l.reqs <- launchReq{cmd: cmd, errc: errc}
	return <-errc
}

// Close ends the thread and so the namespace.
func (l *nsLauncher) Close() {
	close(l.reqs)
	<-l.done
}
