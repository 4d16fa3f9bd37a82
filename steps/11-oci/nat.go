//go:build linux

package main

import (
	"fmt"
	"net"
	"os"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The containers' way out to the world, and the world's way in to their
// published ports (ports.go), are rules in one nftables table of the host
// side's network namespace, made with the bridge and kept with it:
//
//	table ip stepbox
//	  chain postrouting  (nat, after routing)   ip saddr 10.88.0.0/24 oifname != "stepbox0" masquerade
//	  chain prerouting   (nat, before routing)  one dnat rule per published port, from outside
//	  chain output       (nat, local sockets)   the same rules, for the host side's own connections
//
// They are made through netlink (github.com/google/nftables), as the nft
// command would make them, without running it.
var (
	natTable    = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "stepbox"}
	postrouting = natChain("postrouting", nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
	prerouting  = natChain("prerouting", nftables.ChainHookPrerouting, nftables.ChainPriorityNATDest)
	output      = natChain("output", nftables.ChainHookOutput, nftables.ChainPriorityNATDest)
)

// natChain is a base chain of type nat: the kernel runs its rules on the
// first packet of each connection only, and conntrack translates the
// rest, both ways.
func natChain(name string, hook *nftables.ChainHook, priority *nftables.ChainPriority) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: natTable, Type: nftables.ChainTypeNAT, Hooknum: hook, Priority: priority}
}

// enableNAT lets the containers reach whatever the host side reaches,
// as docker does for docker0: the host side forwards packets between
// interfaces (net.ipv4.ip_forward, off in every new network namespace),
// and what leaves by any interface but the bridge leaves with the host
// side's address (masquerade), so the answers find their way back. It
// runs once, with the bridge; the table starts afresh, with no rule of a
// container that was on a bridge since deleted. ip_forward stays on, as
// docker leaves it: "make net-clean" removes the table, not that.
func enableNAT() error {
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("cannot turn on forwarding (net.ipv4.ip_forward): %w", err)
	}
	nft, err := nftables.New()
	if err != nil {
		return fmt.Errorf("cannot talk to nftables: %w", err)
	}
	nft.AddTable(natTable) // add, delete, add: one batch leaves an empty table, whether one was there or not
	nft.DelTable(natTable)
	nft.AddTable(natTable)
	for _, chain := range []*nftables.Chain{postrouting, prerouting, output} {
		nft.AddChain(chain)
	}
	nft.AddRule(&nftables.Rule{Table: natTable, Chain: postrouting, Exprs: masquerade()})
	if err := nft.Flush(); err != nil {
		return fmt.Errorf("cannot create the nftables table ip %s for outbound NAT: %w", natTable.Name, err)
	}
	return nil
}

// masquerade is `ip saddr 10.88.0.0/24 oifname != "stepbox0" masquerade`:
// a container's connection leaving the host side by another interface
// takes that interface's address as its source.
func masquerade() []expr.Any {
	subnet := gateway.Mask(net.CIDRMask(subnetBits, 32))
	return []expr.Any{
		ipv4Field(12), // the source address
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: net.CIDRMask(subnetBits, 32), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: subnet},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(bridgeName)},
		&expr.Masq{},
	}
}

// ipv4Field loads 4 bytes of the IPv4 header at offset (12 the source
// address, 16 the destination) into register 1.
func ipv4Field(offset uint32) *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: 4}
}

// ifname is an interface name as the kernel compares it: 16 bytes, zero-padded.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// toLocalAddress is `fib daddr type local ip daddr != 127.0.0.0/8`: the
// packet is for one of the host side's own addresses, not loopback's
// (see "Published ports" in the README for why 127.0.0.1 is left out).
func toLocalAddress() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
		ipv4Field(16),
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: net.CIDRMask(8, 32), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: net.IPv4(127, 0, 0, 0).To4()},
	}
}
