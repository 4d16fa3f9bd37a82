#!/usr/bin/env bash
# The Vagrant cycle's inside half. .ci/vagrant.sh starts it as the first
# process of a new network, mount and UTS namespace (unshare --net --mount
# --uts --propagation private): do not run it by hand.
#
#   .ci/vagrant-inside.sh WORK BOXFILE
#
# In here: a fresh sysfs for this network namespace (libvirt reads
# /sys/class/net, and with no cgroup mounts it makes no cgroups), libvirt's
# directories replaced by private copies under WORK, libvirtd and virtlogd
# started by hand, then vagrant box add, validate, up, the suite, a known-
# bad step, step 04's shell, destroy. The libvirt bridge, its dnsmasq, the
# guest's tap and every packet between host side and guest exist only in
# this network namespace, which has no route out. On exit, pass or fail,
# everything libvirt holds is destroyed and the daemons are stopped; the
# outside half then kills anything left in the namespace and removes WORK.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$1
box_file=$2
[ -d "$work" ] && [ -f "$box_file" ] || { echo "vagrant-inside.sh: usage: WORK BOXFILE (run by .ci/vagrant.sh)" >&2; exit 2; }
readlink /proc/self/ns/net >"$work/netns"
echo $$ >"$work/inside.pid"

priv=$work/libvirt
times=$work/times.txt
source .ci/phase.sh
die() { echo "vagrant-inside.sh: $*" >&2; exit 1; }
# no_progress drops Vagrant's progress meters (thousands of "\r...Progress:
# N%" updates on one line) from the log.
no_progress() { stdbuf -oL tr '\r' '\n' | grep --line-buffered -v 'Progress: ' || true; }

phase "namespace and private libvirt"
# sysfs shows the network devices of the namespace that mounted it: mount
# one for ours. The old /sys goes with its cgroup mounts, so libvirt finds
# no cgroup hierarchy and creates no machine cgroups on the host.
umount -l /sys
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
ip link set lo up
[ -z "$(ip route show)" ] || die "the new network namespace has routes: $(ip route show)"
[ -z "$(ip -6 route show | grep -v '^::1 \|^fe80' || true)" ] || die "the new network namespace has IPv6 routes"

# Private copies of libvirt's configuration and state, mounted over the
# real paths in this mount namespace only: domains, networks, pools,
# images, leases and logs are written under WORK and vanish with it.
mkdir -p "$priv"/{etc,lib,cache,run,log/qemu}
cp -a /etc/libvirt/. "$priv/etc/"
cp -a /var/lib/libvirt/. "$priv/lib/"
cp -a /var/cache/libvirt/. "$priv/cache/" 2>/dev/null || true
# No default network (it would NAT); vagrant-libvirt defines its own,
# isolated one. No cgroups, whatever the mounts say.
rm -f "$priv"/etc/qemu/networks/*.xml "$priv"/etc/qemu/networks/autostart/*.xml
rm -f "$priv"/etc/qemu/*.xml "$priv"/etc/storage/*.xml "$priv"/etc/storage/autostart/*.xml
rm -rf "$priv"/lib/images/* "$priv"/lib/dnsmasq/*
printf '\n# stepbox CI: no cgroups\ncgroup_controllers = [ ]\n' >>"$priv/etc/qemu.conf"
mount --bind "$priv/etc" /etc/libvirt
mount --bind "$priv/lib" /var/lib/libvirt
mount --bind "$priv/cache" /var/cache/libvirt
mount --bind "$priv/run" /run/libvirt
mount --bind "$priv/log" /var/log/libvirt

# stop_pidfile stops the daemon a pid file names (which the daemon
# removes as it exits).
stop_pidfile() {
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
	kill -KILL "$pid" 2>/dev/null || true
}

# teardown destroys whatever libvirt holds (all of it is ours: libvirt's
# state here is private), then stops the daemons. It runs on any exit.
teardown() {
	local status=$?
	set +e
	trap - EXIT INT TERM
	phase ""
	echo
	echo "== vagrant: teardown (exit status so far $status)"
	if [ -d vagrant/.vagrant ]; then
		timeout 120 make vm-destroy >/dev/null 2>&1 || echo "vagrant-inside.sh: vagrant destroy failed; removing the domain with virsh"
	fi
	if virsh -q version >/dev/null 2>&1; then
		local d n p v
		for d in $(virsh -q list --all --name); do
			virsh -q destroy "$d" >/dev/null 2>&1
			virsh -q undefine "$d" --remove-all-storage --nvram >/dev/null 2>&1 || virsh -q undefine "$d" >/dev/null 2>&1
		done
		for n in $(virsh -q net-list --all --name); do
			virsh -q net-destroy "$n" >/dev/null 2>&1
			virsh -q net-undefine "$n" >/dev/null 2>&1
		done
		for p in $(virsh -q pool-list --all --name); do
			for v in $(virsh -q vol-list "$p" 2>/dev/null | awk '{print $1}'); do
				virsh -q vol-delete --pool "$p" "$v" >/dev/null 2>&1
			done
			virsh -q pool-destroy "$p" >/dev/null 2>&1
			virsh -q pool-undefine "$p" >/dev/null 2>&1
		done
		left="$(virsh -q list --all --name)$(virsh -q net-list --all --name)$(virsh -q pool-list --all --name)"
		if [ -n "$(echo "$left" | tr -d '[:space:]')" ]; then
			echo "vagrant-inside.sh: libvirt still holds: $left" >&2
			[ "$status" != 0 ] || status=1
		else
			echo "libvirt: no domain, network, pool or volume left"
		fi
	fi
	stop_pidfile "$priv/libvirtd.pid"
	stop_pidfile "$priv/virtlogd.pid"
	for p in "$priv"/run/network/*.pid; do stop_pidfile "$p"; done # dnsmasq
	echo "libvirtd, virtlogd and dnsmasq stopped"
	rm -rf vagrant/.vagrant
	exit "$status"
}
trap teardown EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

phase "start virtlogd and libvirtd"
virtlogd -d -p "$priv/virtlogd.pid"
libvirtd -d -p "$priv/libvirtd.pid"
for _ in $(seq 100); do virsh -q version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q version
[ -z "$(virsh -q net-list --all --name | tr -d '[:space:]')" ] || die "libvirt has networks before vagrant made one"

phase "vagrant box add"
vagrant box add --name "$STEPBOX_BOX" "$box_file" 2>&1 | no_progress

phase "vagrant validate"
(cd vagrant && vagrant validate)

phase "vagrant up (libvirt, $STEPBOX_LIBVIRT_DRIVER driver)"
make vm-up 2>&1 | no_progress

phase "the network stays inside"
net=$(virsh -q net-list --name | head -1)
virsh net-dumpxml "$net" | grep -q '<forward' && die "libvirt network $net forwards outside: $(virsh net-dumpxml "$net")"
echo "libvirt network $net: no <forward> (isolated)"
echo "routes in this namespace:"; ip route show | sed 's/^/  /'
ip route show | grep -q '^default' && die "a default route appeared"
echo "links in this namespace: $(ip -o link | awk -F': ' '{print $2}' | tr '\n' ' ')"

phase "make vm-test (whole suite in the guest)"
make vm-test

phase "make vm-test-broken (known-bad step fails)"
make vm-test-broken

phase "make vm-step-04 (shell in the container)"
shell_out=$work/step-04.out
printf 'echo host=$(hostname)\necho pid=$$\nexit 0\n' | make vm-step-04 2>&1 | tee "$shell_out"
grep -qx 'host=container' "$shell_out" || die "vm-step-04: the shell did not run in the container (no host=container above)"
grep -qx 'pid=1' "$shell_out" || die "vm-step-04: the shell is not PID 1 of its own PID namespace (no pid=1 above)"
echo "vm-step-04: a shell in step 04's container (hostname container, PID 1)"

phase "vagrant destroy"
make vm-destroy
phase ""
