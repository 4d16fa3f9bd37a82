//go:build linux

// Command netclean is "make net-clean": it removes what the steps from
// 07 on make once and keep in the network namespace they run in, the
// stepbox0 bridge and the nftables table ip stepbox (outbound NAT and
// published ports), once no container is plugged into the bridge. It
// leaves net.ipv4.ip_forward on, as docker does (steps/07-network/README.md).
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const bridgeName = "stepbox0"

var natTable = &nftables.Table{Family: nftables.TableFamilyIPv4, Name: "stepbox"}

func main() {
	if err := clean(); err != nil {
		fmt.Fprintf(os.Stderr, "net-clean: %v\n", err)
		os.Exit(1)
	}
}

func clean() error {
	links, err := netlink.LinkList()
	if err != nil {
		return fmt.Errorf("cannot list the network interfaces: %w", err)
	}
	bridge, err := netlink.LinkByName(bridgeName)
	if err == nil {
		for _, l := range links {
			if l.Attrs().MasterIndex == bridge.Attrs().Index {
				return fmt.Errorf("%s still has containers plugged in (%s): stop them first", bridgeName, l.Attrs().Name)
			}
		}
		if err := netlink.LinkDel(bridge); err != nil {
			return fmt.Errorf("cannot remove the %s bridge: %w", bridgeName, err)
		}
		fmt.Println("removed the stepbox0 bridge")
	} else {
		fmt.Println("no stepbox0 bridge in this network namespace")
	}
	return removeTable()
}

// removeTable deletes table ip stepbox with its chains and rules.
func removeTable() error {
	nft, err := nftables.New()
	if err != nil {
		return fmt.Errorf("cannot talk to nftables: %w", err)
	}
	nft.DelTable(natTable)
	err = nft.Flush()
	if errors.Is(err, unix.ENOENT) {
		fmt.Println("no nftables table ip stepbox in this network namespace")
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot remove the nftables table ip stepbox: %w", err)
	}
	fmt.Println("removed the nftables table ip stepbox (outbound NAT and published ports)")
	return nil
}
