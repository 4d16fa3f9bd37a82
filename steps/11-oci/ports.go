//go:build linux

package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// port is one published port, docker's -p HOST_PORT:CONTAINER_PORT[/tcp|udp]:
// connections to hostPort on the host side's addresses go to
// containerPort on the container's.
type port struct {
	hostPort, containerPort uint16
	proto                   string // "tcp" or "udp"
}

func (p port) String() string { return fmt.Sprintf("%d:%d/%s", p.hostPort, p.containerPort, p.proto) }

// ports is the -p flag: it may be given again for each port.
type ports []port

func (ps *ports) String() string { return fmt.Sprint(*ps) }

// Set parses one -p value and adds it.
func (ps *ports) Set(value string) error {
	spec, proto, found := strings.Cut(value, "/")
	if !found {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return fmt.Errorf("unknown protocol %q, expected tcp or udp", proto)
	}
	hostPart, containerPart, found := strings.Cut(spec, ":")
	if !found {
		return errors.New("expected HOST_PORT:CONTAINER_PORT[/tcp|udp], like 8080:80")
	}
	hostPort, err := parsePort(hostPart)
	if err != nil {
		return err
	}
	containerPort, err := parsePort(containerPart)
	if err != nil {
		return err
	}
	p := port{hostPort: hostPort, containerPort: containerPort, proto: proto}
	for _, other := range *ps {
		if other.hostPort == p.hostPort && other.proto == p.proto {
			return fmt.Errorf("host port %d/%s is published twice", hostPort, proto)
		}
	}
	*ps = append(*ps, p)
	return nil
}

// parsePort reads one port number of a -p value: 1 to 65535.
func parsePort(number string) (uint16, error) {
	n, err := strconv.ParseUint(number, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", number)
	}
	return uint16(n), nil
}

// publishPorts adds a dnat rule for each port, to the container at ip
// whose host end is hostEnd, in the prerouting chain (connections from
// other hosts) and the output chain (the host side's own). It runs under
// the network lock, after sweeping the rules of containers that are gone
// without removing theirs, and refuses a host port that a running
// container has published already.
func publishPorts(hostEnd string, ip net.IP, published ports) error {
	nft, err := nftables.New()
	if err != nil {
		return fmt.Errorf("cannot talk to nftables: %w", err)
	}
	taken, err := sweepPortRules(nft)
	if err != nil {
		return err
	}
	for _, p := range published {
		if owner, ok := taken[p.tag()]; ok {
			return fmt.Errorf("port %d/%s is already published by the container on %s", p.hostPort, p.proto, owner)
		}
		for _, chain := range []*nftables.Chain{prerouting, output} {
			nft.AddRule(&nftables.Rule{Table: natTable, Chain: chain, Exprs: p.dnat(ip), UserData: ruleTag(hostEnd, p)})
		}
	}
	if err := nft.Flush(); err != nil {
		return fmt.Errorf("cannot publish ports %v: %w", published, err)
	}
	return nil
}

// unpublishPorts removes the rules of the container whose host end is
// hostEnd: the runtime calls it once the container has exited.
func unpublishPorts(hostEnd string) error {
	nft, err := nftables.New()
	if err != nil {
		return fmt.Errorf("cannot talk to nftables: %w", err)
	}
	rules, err := portRules(nft)
	if errors.Is(err, unix.ENOENT) {
		return nil // no table: "make net-clean" took the rules with it
	}
	if err != nil {
		return err
	}
	for _, r := range rules {
		if owner, _ := parseRuleTag(r.UserData); owner == hostEnd {
			_ = nft.DelRule(r) // only queues the deletion: Flush reports
		}
	}
	if err := nft.Flush(); err != nil {
		return fmt.Errorf("cannot remove the published ports of %s: %w", hostEnd, err)
	}
	return nil
}

// sweepPortRules deletes the rules whose container is gone, one that
// could not remove its own (killed with SIGKILL, say): as with the
// addresses, the host ends are the state, and a rule whose host end no
// longer exists belongs to nobody. It returns the ports still published,
// each with its owner's host end.
func sweepPortRules(nft *nftables.Conn) (map[string]string, error) {
	rules, err := portRules(nft)
	if err != nil {
		return nil, err
	}
	taken := map[string]string{}
	for _, r := range rules {
		owner, what := parseRuleTag(r.UserData)
		if owner == "" {
			continue // not a published port: leave it alone
		}
		var gone netlink.LinkNotFoundError
		if _, err := netlink.LinkByName(owner); errors.As(err, &gone) {
			_ = nft.DelRule(r) // sent with the next Flush
			continue
		}
		taken[what] = owner
	}
	return taken, nil
}

// portRules lists the rules of the chains that hold published ports.
func portRules(nft *nftables.Conn) ([]*nftables.Rule, error) {
	var all []*nftables.Rule
	for _, chain := range []*nftables.Chain{prerouting, output} {
		rules, err := nft.GetRules(natTable, chain)
		if err != nil {
			return nil, fmt.Errorf("cannot list the rules of chain %s of table ip %s: %w", chain.Name, natTable.Name, err)
		}
		all = append(all, rules...)
	}
	return all, nil
}

// ruleTag is the comment a published port's rule carries, as `nft list
// ruleset` shows it: "stepbox sbx0a580002 tcp/8080", the container's host
// end (which names its address) and what it publishes.
func ruleTag(hostEnd string, p port) []byte {
	return userdata.AppendString(nil, userdata.TypeComment, "stepbox "+hostEnd+" "+p.tag())
}

// parseRuleTag reads a ruleTag back: the host end and "tcp/8080", or "".
func parseRuleTag(data []byte) (hostEnd, what string) {
	comment, _ := userdata.GetString(data, userdata.TypeComment)
	f := strings.Fields(comment)
	if len(f) != 3 || f[0] != "stepbox" {
		return "", ""
	}
	return f[1], f[2]
}

// tag is the host port, as one container's rules name it: "tcp/8080".
func (p port) tag() string { return fmt.Sprintf("%s/%d", p.proto, p.hostPort) }

// dnat is `fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto tcp
// tcp dport 8080 dnat to 10.88.0.2:80`: a new connection to the host
// port on one of the host side's addresses goes to the container's.
func (p port) dnat(ip net.IP) []expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if p.proto == "udp" {
		proto = unix.IPPROTO_UDP
	}
	return append(toLocalAddress(),
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		// the destination port: bytes 2-3 of the TCP or UDP header
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(p.hostPort)},
		&expr.Immediate{Register: 1, Data: ip.To4()},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(p.containerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
}
