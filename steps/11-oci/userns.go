//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// A user namespace has its own user and group IDs. Its uid_map and
// gid_map say which host IDs they are: "0 100000 65536" makes the
// container's 0..65535 the host's 100000..165535. So the container's root
// is root inside (it may mount, set the hostname, own its namespaces) and,
// to the host, uid 100000, which owns nothing of the host's.

// rootlessBase and rootlessSize are the default range for the container's
// IDs when run as root: the first range useradd puts in /etc/subuid and
// /etc/subgid ("alice:100000:65536"), 65536 IDs, enough for any image.
const (
	rootlessBase = 100000
	rootlessSize = 65536
)

// defaultIDMap is the map used without --uid-map or --gid-map. Root may
// map any range. An ordinary user may map only its own ID, once, to one
// container ID (user_namespaces(7)): "0:1000:1" makes it root inside.
// Wider ranges from /etc/subuid need the setuid helper newuidmap.
func defaultIDMap(ownID int) string {
	if os.Geteuid() == 0 {
		return fmt.Sprintf("0:%d:%d", rootlessBase, rootlessSize)
	}
	return fmt.Sprintf("0:%d:1", ownID)
}

// parseIDMap checks a --uid-map or --gid-map value, CONTAINER:HOST:SIZE:
// SIZE IDs from CONTAINER inside are SIZE IDs from HOST on the host.
func parseIDMap(flagName, value string) (syscall.SysProcIDMap, error) {
	bad := fmt.Errorf("%s %q is not CONTAINER:HOST:SIZE, like 0:100000:65536", flagName, value)
	parts := strings.Split(value, ":")
	if len(parts) != 3 {
		return syscall.SysProcIDMap{}, bad
	}
	var n [3]uint64
	for i, p := range parts {
		var err error
		if n[i], err = strconv.ParseUint(p, 10, 32); err != nil {
			return syscall.SysProcIDMap{}, bad
		}
	}
	// IDs are 32 bits and 4294967295 means "no ID": a range must end below it.
	if n[2] == 0 || n[0]+n[2] > math.MaxUint32 || n[1]+n[2] > math.MaxUint32 {
		return syscall.SysProcIDMap{}, fmt.Errorf("%s %q: SIZE must be at least 1 and both ranges must end below 4294967295", flagName, value)
	}
	return syscall.SysProcIDMap{ContainerID: int(n[0]), HostID: int(n[1]), Size: int(n[2])}, nil
}

// formatIDMap is the inverse of parseIDMap, for the child's flags.
func formatIDMap(m syscall.SysProcIDMap) string {
	return fmt.Sprintf("%d:%d:%d", m.ContainerID, m.HostID, m.Size)
}
