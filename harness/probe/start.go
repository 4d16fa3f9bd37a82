package probe

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// atStart is what the probe saw first, before it opened anything: the
// file descriptors it was given, and the cgroups it started in (a runtime
// that moves the command into its cgroup late lets it run unlimited
// until then). Main records it; Collect reports it.
var atStart struct {
	fds     []int
	cgroups string
}

// recordStart reads both with raw system calls: os.Open would start Go's
// poller, whose descriptors would show up in the list.
func recordStart() {
	atStart.fds = openFDs()
	atStart.cgroups = readRaw("/proc/self/cgroup")
}

// openFDs lists the open file descriptors, but the one reading the list.
func openFDs() []int {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(dir)
	var fds []int
	buf := make([]byte, 4096)
	for {
		n, err := unix.Getdents(dir, buf)
		if err != nil || n <= 0 {
			return fds
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
}

// readRaw reads a small file with open(2) and read(2).
func readRaw(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err != nil || n <= 0 {
			return strings.TrimSpace(b.String())
		}
		b.Write(buf[:n])
	}
}
