# make net-clean: remove the stepbox0 bridge from this network namespace.
# From step 07 the runtime makes the bridge with the first container and
# keeps it, as docker keeps docker0 (steps/07-network/README.md, "Why it
# is fast"); each container's veth pair goes with the container. The
# bridge lives in the network namespace the runtime ran in: the host's if
# you ran a step there, else the one you made with unshare -n. The tests
# and make bench only ever make it in namespaces of their own.
.PHONY: net-clean
net-clean:
	@if ! ip link show stepbox0 type bridge >/dev/null 2>&1; then echo "no stepbox0 bridge in this network namespace"; \
	elif ip -o link show master stepbox0 | grep -q .; then echo "stepbox0 still has containers plugged in: stop them first" >&2; exit 1; \
	else $(SUDO) ip link delete stepbox0 type bridge && echo "removed the stepbox0 bridge"; fi
