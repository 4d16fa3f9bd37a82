package engine

import "os"

// State is what must look the same before and after: around one run
// (Witness, in its sandbox), in a session sandbox (Session.Snapshot), and
// on the host around each privileged test (the host guard).
type State struct {
	Hostname string   `json:"hostname"`
	Mounts   []string `json:"mounts"` // "mount-point fstype source", sorted
	// Net is, in a sandbox, its links, addresses, routes, rules and
	// nftables (netState); on the host, the names of its network interfaces.
	Net []string `json:"net"`
	// The host guard's alone: cgroup directories named stepbox-* (not
	// an open Env's jail), and the shared base rootfs ("path mode size").
	Cgroups []string `json:"cgroups,omitempty"`
	Rootfs  []string `json:"rootfs,omitempty"`
}

// readState reads the sandbox's hostname, mounts (from its open
// mountinfo) and network; with settle, the network once it looks like
// settle again, or after two seconds (settledNetState).
func readState(mountinfo *os.File, settle []string) State {
	s := State{Mounts: mountPoints(mountinfo)}
	if settle != nil {
		s.Net = settledNetState(settle)
	} else {
		s.Net = netState()
	}
	s.Hostname, _ = os.Hostname()
	return s
}
