package engine

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// SnapshotHost reads the host's state; base is the shared rootfs.
func SnapshotHost(base string) State {
	s := State{
		Mounts:  hostMountPoints(),
		Cgroups: StepboxCgroups(),
		Rootfs:  treeListing(base),
	}
	s.Hostname, _ = os.Hostname()
	if ifaces, err := net.Interfaces(); err == nil {
		for _, i := range ifaces {
			s.Net = append(s.Net, i.Name)
		}
	}
	return s
}

func treeListing(dir string) []string {
	var list []string
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			list = append(list, path+" unreadable")
			return nil
		}
		info, err := d.Info()
		if err == nil {
			rel, _ := filepath.Rel(dir, path)
			list = append(list, fmt.Sprintf("%s %v %d", rel, info.Mode(), info.Size()))
		}
		return nil
	})
	return list
}

// HostGuard holds the host lock for one privileged test or check run, so
// tests in other packages cannot change the host under it.
type HostGuard struct {
	lock   *os.File
	base   string
	before State
}

// StartGuard takes the host lock and snapshots the host.
func StartGuard(base string) (*HostGuard, error) {
	lock, err := LockHost()
	if err != nil {
		return nil, err
	}
	return &HostGuard{lock: lock, base: base, before: SnapshotHost(base)}, nil
}

// LockHost takes the host lock, which every privileged test and check run
// holds while it runs; closing the file releases it.
func LockHost() (*os.File, error) {
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "stepbox-host.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		lock.Close()
		return nil, fmt.Errorf("locking the host: %w", err)
	}
	return lock, nil
}

// Finish snapshots the host again, releases the lock, and returns a diff
// of what changed ("" if nothing). It removes nothing: what the binary
// under test makes lands in its Env's cgroup jail, which the Env sweeps;
// a stepbox cgroup outside a jail is not the harness's to remove, even
// when its name looks like one a test made.
func (g *HostGuard) Finish() string {
	defer g.lock.Close()
	after := SnapshotHost(g.base)
	diff := cmp.Diff(g.before, after)
	if diff == "" {
		return ""
	}
	msg := "the host changed (- before, + after):\n" + diff
	if !slices.Equal(after.Cgroups, g.before.Cgroups) {
		msg += "\na stepbox cgroup appeared or went outside the harness's cgroup jails: the harness removes nothing it cannot tell it made, so remove what is yours yourself (rmdir)"
	}
	return msg
}
