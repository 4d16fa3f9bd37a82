//go:build linux

package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The containers' network, all on the host side's stepbox0 bridge:
//
//	host side                                 container
//	stepbox0 (bridge) 10.88.0.1/24  ── sbx0a580002 ═══ eth0 10.88.0.2/24, default via 10.88.0.1
//	                                ── sbx0a580003 ═══ eth0 10.88.0.3/24 (another container)
//
// A veth pair is a cable with an interface at each end: one end goes into
// the container's network namespace as eth0, the other is plugged into
// the bridge, a switch, where the gateway address lives too.
const (
	bridgeName = "stepbox0"
	vethPrefix = "sbx" // host ends are "sbx" + the container's address in hex
	subnetBits = 24
)

var gateway = net.IPv4(10, 88, 0, 1).To4() // the bridge's address

// network is what one container has on the host side: the host end of
// its veth pair. Nobody deletes it: a veth pair goes when either end's
// network namespace does, so the kernel removes it with the container's
// namespace, once the container's last process has exited. The bridge
// stays, ready for the next container, as docker's docker0 does.
type network struct {
	hostEnd   string // the host end of the veth pair; "" when there is none
	published bool   // it has published ports, whose rules remove takes away
}

// connectNetwork gives the child (still waiting on the sync socket) an
// eth0 with an address of its own, cabled to the bridge. Only root can
// add interfaces to the host side: an ordinary user's container keeps
// loopback alone (rootless runtimes use slirp4netns or pasta instead),
// and publishes no port.
func connectNetwork(childPID int, published ports) (*network, error) {
	if os.Geteuid() != 0 {
		warn("not root, so no network: the container has loopback only%s", notPublished(published))
		return &network{}, nil
	}
	unlock, err := lockNetwork()
	if err != nil {
		return nil, err
	}
	defer unlock() // a second call does nothing
	bridge, err := ensureBridge()
	if err != nil {
		return nil, err
	}
	ip, err := allocateAddress()
	if err != nil {
		return nil, err
	}
	n := &network{hostEnd: vethPrefix + hex.EncodeToString(ip)}
	if len(published) > 0 {
		if err := publishPorts(n.hostEnd, ip, published); err != nil {
			return nil, err
		}
		n.published = true
	}
	// On a failure from here on, the runtime kills the child, and the
	// pair goes with its namespace; n goes back all the same, for the
	// runtime to remove its ports.
	if err := addVethPair(n.hostEnd, bridge, childPID); err != nil {
		return n, err
	}
	unlock() // the host end's name now holds the address, its rules the ports
	if err := configureContainerSide(childPID, ip); err != nil {
		return n, err
	}
	return n, nil
}

// lockNetwork serializes the runtimes changing one host side: two
// containers starting at once must not both create the bridge, nor pick
// the same address. The lock is an abstract unix socket: its name lives
// in the network namespace, like the bridge, only one process can bind
// it, and it goes when the process does, so nothing is left on disk and
// a crash cannot leave it held. It is held for a millisecond or two, so
// a waiting runtime retries often.
func lockNetwork() (unlock func(), err error) {
	for deadline := time.Now().Add(5 * time.Second); ; {
		l, err := net.Listen("unix", "@stepbox-network-lock")
		if err == nil {
			var once sync.Once
			return func() { once.Do(func() { l.Close() }) }, nil
		}
		if !errors.Is(err, unix.EADDRINUSE) || time.Now().After(deadline) {
			return nil, fmt.Errorf("cannot lock the host's network setup: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// ensureBridge finds stepbox0, or creates it with the gateway address, and
// sets it up. The first container creates it; the others plug into it,
// and it stays when they are gone: creating and deleting a bridge costs
// tens of milliseconds (see "Why it is fast"). With the bridge comes
// the table of nftables rules for NAT (nat.go). "make net-clean" removes
// both.
func ensureBridge() (netlink.Link, error) {
	if bridge, err := netlink.LinkByName(bridgeName); err == nil {
		return bridge, nil
	}
	bridge := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName}}
	if err := netlink.LinkAdd(bridge); err != nil {
		return nil, fmt.Errorf("cannot create bridge %s: %w", bridgeName, err)
	}
	if err := addGatewayAddress(bridge); err != nil {
		_ = netlink.LinkDel(bridge)
		return nil, err
	}
	if err := netlink.LinkSetUp(bridge); err != nil {
		_ = netlink.LinkDel(bridge)
		return nil, fmt.Errorf("cannot set bridge %s up: %w", bridgeName, err)
	}
	if err := enableNAT(); err != nil {
		_ = netlink.LinkDel(bridge)
		return nil, err
	}
	return bridge, nil
}

// remove takes away what the container's network leaves behind once it
// has exited: the rules of its published ports (the kernel removes its
// veth pair), under the lock, as another runtime may be sweeping them.
// Should the runtime die first, the next container to publish a port
// sweeps them (sweepPortRules).
func (n *network) remove() error {
	if !n.published {
		return nil
	}
	unlock, err := lockNetwork()
	if err != nil {
		return err
	}
	defer unlock()
	return unpublishPorts(n.hostEnd)
}

// notPublished ends the not-root warning when -p was given.
func notPublished(published ports) string {
	if len(published) == 0 {
		return ""
	}
	return fmt.Sprintf(", and publishes no port (-p %v)", published)
}

// addGatewayAddress gives the bridge the gateway address: the host side's
// address on the containers' subnet, which their default route points to.
// It also makes the kernel route the subnet through the bridge.
func addGatewayAddress(bridge netlink.Link) error {
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: gateway, Mask: net.CIDRMask(subnetBits, 32)}}
	if err := netlink.AddrAdd(bridge, addr); err != nil {
		return fmt.Errorf("cannot add %s to bridge %s: %w", addr.IPNet, bridgeName, err)
	}
	return nil
}

// allocateAddress picks the lowest free address of the subnet. The state
// is the host side itself: each container's host end is named after its
// address, so the addresses in use are the names of the links, and a
// container that is gone (its veth pair goes with its namespace) frees
// its address without anyone writing it down.
func allocateAddress() (net.IP, error) {
	links, err := listLinks()
	if err != nil {
		return nil, fmt.Errorf("cannot list the network interfaces: %w", err)
	}
	used := map[string]bool{}
	for _, l := range links {
		if name := l.Attrs().Name; strings.HasPrefix(name, vethPrefix) {
			used[strings.TrimPrefix(name, vethPrefix)] = true
		}
	}
	for host := 2; host < 255; host++ {
		ip := net.IPv4(gateway[0], gateway[1], gateway[2], byte(host)).To4()
		if !used[hex.EncodeToString(ip)] {
			return ip, nil
		}
	}
	return nil, fmt.Errorf("no free address left on %s: 253 containers are running", bridgeName)
}

// addVethPair creates the cable: hostEnd plugged into the bridge, and its
// peer created straight inside the child's network namespace as eth0
// (so no name clash on the host side), then sets the host end up.
func addVethPair(hostEnd string, bridge netlink.Link, childPID int) error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: hostEnd, MasterIndex: bridge.Attrs().Index},
		PeerName:      "eth0",
		PeerNamespace: netlink.NsPid(childPID),
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("cannot create veth pair %s/eth0: %w", hostEnd, err)
	}
	if err := netlink.LinkSetUp(veth); err != nil {
		return fmt.Errorf("cannot set %s up: %w", hostEnd, err)
	}
	return nil
}

// configureContainerSide sets up eth0 from outside, through a netlink
// socket opened in the child's network namespace: the address, up, and
// the default route through the gateway. The child waits meanwhile, so
// the command starts with its network ready.
func configureContainerSide(childPID int, ip net.IP) error {
	ns, err := netns.GetFromPid(childPID)
	if err != nil {
		return fmt.Errorf("cannot open the container's network namespace: %w", err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("cannot talk to the container's network namespace: %w", err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil {
		return fmt.Errorf("cannot find eth0 in the container: %w", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(subnetBits, 32)}}
	if err := h.AddrAdd(eth0, addr); err != nil {
		return fmt.Errorf("cannot add %s to the container's eth0: %w", addr.IPNet, err)
	}
	if err := h.LinkSetUp(eth0); err != nil {
		return fmt.Errorf("cannot set the container's eth0 up: %w", err)
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: eth0.Attrs().Index, Gw: gateway}); err != nil {
		return fmt.Errorf("cannot add the container's default route via %s: %w", gateway, err)
	}
	return nil
}

// listLinks lists the network interfaces. The kernel marks a listing
// "interrupted" when a link comes or goes while it is read, as happens
// with containers starting side by side; then the list may be incomplete,
// so read it again.
func listLinks() ([]netlink.Link, error) {
	for range 10 {
		links, err := netlink.LinkList()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return links, err
		}
	}
	return nil, fmt.Errorf("listing the network interfaces: %w", netlink.ErrDumpInterrupted)
}

// setLoopbackUp brings up the container's own lo, down in every new
// network namespace: without it, 127.0.0.1 answers nothing. The child
// does this itself; as root of its user namespace it owns its network.
//
// Two ioctls on any socket of the namespace do it, as ifconfig does:
// read lo's flags (SIOCGIFFLAGS), add IFF_UP (SIOCSIFFLAGS). Netlink
// would do it too, but the child would then run the netlink package's
// code for the first time and open a netlink socket, about 1.5 ms on its
// way to the command (see "Why it is fast"); the parent, which builds
// the veth pair, uses netlink.
func setLoopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("cannot open a socket to set lo up: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("cannot set lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("cannot read lo's flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("cannot set lo up: %w", err)
	}
	return nil
}
