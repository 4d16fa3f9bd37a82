# make net-clean: remove the stepbox0 bridge and the nftables table
# ip stepbox from this network namespace. From step 07 the runtime makes
# both with the first container and keeps them, as docker keeps docker0
# and its rules (steps/07-network/README.md, "Why it is fast" and
# "Outbound NAT and published ports"); each container's veth pair goes
# with the container, and its published ports' rules when it exits. They
# live in the network namespace the runtime ran in: the host's if you ran
# a step there, else the one you made with unshare -n. The tests and make
# bench only ever make them in namespaces of their own.
# net.ipv4.ip_forward stays on, as docker leaves it.
.PHONY: net-clean
net-clean:
	@$(GO) build -o bin/netclean ./harness/cmd/netclean
	@$(SUDO) bin/netclean
