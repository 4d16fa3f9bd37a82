package engine

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// JoinNetns moves the calling thread into the network namespace at
// path; "" leaves it where it is.
func JoinNetns(path string) error {
	if path == "" {
		return nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining network namespace %s: %w", path, err)
	}
	return nil
}

// netState lists the calling thread's network namespace: links,
// IPv4 addresses and routes (all tables), policy rules and nftables
// (nftstate.go), one sorted line each. Left out is what the kernel changes on its own while a link
// lives: its operational state, IPv6 link-local addresses and their routes.
func netState() []string {
	var lines []string
	links, err := netlink.LinkList()
	if err != nil {
		return []string{"links unreadable: " + err.Error()}
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		lines = append(lines, fmt.Sprintf("link %s %s master=%s", a.Name, l.Type(), names[a.MasterIndex]))
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, addr := range addrs {
			lines = append(lines, fmt.Sprintf("addr %s %s", a.Name, addr.IPNet))
		}
	}
	routes, _ := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route table=%d dst=%v gw=%v dev=%s", r.Table, r.Dst, r.Gw, names[r.LinkIndex]))
	}
	rules, _ := netlink.RuleList(netlink.FAMILY_ALL)
	for _, r := range rules {
		lines = append(lines, "rule "+r.String())
	}
	lines = append(lines, nftState()...)
	slices.Sort(lines)
	return lines
}

// settledNetState reads the network after a run. The kernel removes a
// dead namespace's veth pair on its own, a moment later, so give it up
// to two seconds to match before (but for a kept bridge), then take what
// is there.
func settledNetState(before []string) []string {
	now := netState()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if left, gone := NetLeft(before, now); len(left) == 0 && len(gone) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
		now = netState()
	}
	return now
}

// NetLeft compares two netState listings of a host side, before and
// after containers ran on it: the lines left behind and the lines gone.
// A bridge may stay, with its addresses and the routes through it, as
// docker keeps docker0: it is the containers' shared switch, not one
// container's. Whatever was plugged into it may not. So may an
// nftables table made meanwhile, with its chains and rules, but for its
// dnat rules (nftstate.go).
func NetLeft(before, after []string) (left, gone []string) {
	b, a := withoutBridges(before), withoutKeptTables(before, withoutBridges(after))
	return MultisetMinus(a, b), MultisetMinus(b, a)
}

// withoutBridges drops the bridges from a netState listing: their link
// lines, their addresses and the routes through them.
func withoutBridges(lines []string) []string {
	bridges := map[string]bool{}
	for _, line := range lines {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "link" && f[2] == "bridge" {
			bridges[f[1]] = true
		}
	}
	var out []string
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && (f[0] == "link" || f[0] == "addr") && bridges[f[1]]:
		case len(f) >= 2 && f[0] == "route" && bridges[strings.TrimPrefix(f[len(f)-1], "dev=")]:
		default:
			out = append(out, line)
		}
	}
	return out
}
