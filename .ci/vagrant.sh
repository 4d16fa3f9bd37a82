#!/usr/bin/env bash
# CI: the full Vagrant cycle with a box built here from Debian's archive —
# build the box, vagrant validate, vagrant up (libvirt, qemu driver when
# there is no KVM), the whole privileged suite in the guest, destroy — and
# per-phase times. Run by hand as root (.ci/run leaves it out: the VM talks
# to the host over a libvirt bridge). Everything it creates (the
# VM, its network, the box and its libvirt volume, loop devices, daemons
# it started) is removed on exit, pass or fail; the check at the end
# fails the run if anything is left.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export DEBIAN_FRONTEND=noninteractive

box_name=stepbox/ci-bookworm
export STEPBOX_BOX=$box_name STEPBOX_OFFLINE=1 STEPBOX_PROVIDER=libvirt
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1
work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-ci-vagrant-XXXXXX")
export VAGRANT_HOME=$work/vagrant.d # the box lives here, removed at the end

started=$SECONDS
phase_start=$SECONDS
phase_name=""
times=()
phase() {
	if [ -n "$phase_name" ]; then
		times+=("$(printf '%-26s %5ds' "$phase_name" $((SECONDS - phase_start)))")
		printf -- '-- %s took %ds\n' "$phase_name" $((SECONDS - phase_start))
	fi
	phase_name=$1
	phase_start=$SECONDS
	[ -n "$1" ] && printf '\n== vagrant: %s (%s)\n' "$1" "$(date -u +%T)"
	return 0
}

phase "install packages"
need=()
command -v vagrant >/dev/null || need+=(vagrant)
[ -d /usr/share/rubygems-integration/all/gems ] && ls -d /usr/share/rubygems-integration/all/gems/vagrant-libvirt-* >/dev/null 2>&1 || need+=(vagrant-libvirt)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v sfdisk >/dev/null || need+=(fdisk)
[ -x /usr/lib/grub/i386-pc/grub-bios-setup ] || need+=(grub-pc-bin)
command -v grub-mkimage >/dev/null || need+=(grub-common)
command -v rsync >/dev/null || need+=(rsync)
command -v ssh >/dev/null || need+=(openssh-client)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v iptables >/dev/null || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
vagrant --version
vagrant plugin list

# What the host looked like, to prove nothing is left: libvirt's view
# (compared while libvirtd runs) and the host's (compared after the
# daemons this script started are stopped again).
libvirt_state() {
	echo "# domains"; virsh -q list --all --name | sed '/^$/d' | sort
	echo "# networks"; virsh -q net-list --all --name | sed '/^$/d' | sort
	echo "# pools"; virsh -q pool-list --all --name | sed '/^$/d' | sort
}
# iptables_rules: rules and our own chains; an empty table with its
# built-in chains accepting is the same as no table.
iptables_rules() {
	iptables-save 2>/dev/null | grep -E '^(\*|-A|:)' | sed 's/ \[[0-9:]*\]$//' |
		grep -vE '^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) ACCEPT$' | grep -B1 -v '^\*' | grep -v '^--$' || true
}
host_state() {
	echo "# loop devices"; losetup -a | sort
	echo "# links"; ip -o link | awk -F': ' '{print $2}' | sort
	echo "# mounts"; awk '{print $5}' /proc/self/mountinfo | sort
	echo "# iptables"; iptables_rules
	echo "# ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
}
host_before=$(host_state)
# libvirt adds its chains to iptables when a network starts and leaves
# them; they are put back as they were.
iptables_before=$(iptables-save 2>/dev/null | grep -v '^#' || true)
iptables_rules_before=$(iptables_rules)

phase "start libvirtd"
started_daemons=()
pool_created=0
ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)
pidfile_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if ! pidfile_alive /run/virtlogd.pid; then
	virtlogd -d
	started_daemons+=(/run/virtlogd.pid)
fi
if ! pidfile_alive /run/libvirtd.pid; then
	libvirtd -d
	started_daemons+=(/run/libvirtd.pid)
fi
for _ in $(seq 50); do virsh -q version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q version
# The VM uses a network of its own; libvirt's NAT default network must not
# come up on this host.
if virsh -q net-list --name | grep -qx default && [ ${#started_daemons[@]} -gt 0 ]; then
	virsh -q net-destroy default
fi
libvirt_before=$(libvirt_state)
pool_existed=$(virsh -q pool-list --all --name | grep -cx default || true)

# teardown removes what the cycle made; vagrant destroy should have, but
# this also runs when a phase failed half way.
teardown() {
	if [ -d vagrant/.vagrant ]; then
		(cd vagrant && vagrant destroy -f >/dev/null 2>&1)
	fi
	virsh -q version >/dev/null 2>&1 || return 0 # libvirtd already stopped
	for d in $(virsh -q list --all --name | grep '^stepbox-'); do
		virsh -q destroy "$d" >/dev/null 2>&1
		virsh -q undefine "$d" --remove-all-storage >/dev/null 2>&1
	done
	if virsh -q net-info stepbox-vagrant >/dev/null 2>&1; then
		virsh -q net-destroy stepbox-vagrant >/dev/null 2>&1
		virsh -q net-undefine stepbox-vagrant >/dev/null 2>&1
	fi
	if virsh -q pool-info default >/dev/null 2>&1; then
		for v in $(virsh -q vol-list default | awk '{print $1}' | grep -E '^stepbox'); do
			virsh -q vol-delete --pool default "$v" >/dev/null 2>&1
		done
		if [ "$pool_existed" = 0 ]; then
			virsh -q pool-destroy default >/dev/null 2>&1
			virsh -q pool-undefine default >/dev/null 2>&1
		fi
	fi
	for l in $(losetup -a | grep stepbox-box | cut -d: -f1); do
		partx -d "$l" 2>/dev/null; losetup -d "$l"
	done
	rm -rf vagrant/.vagrant
	return 0
}

stop_daemons() {
	for p in "${started_daemons[@]}"; do
		pidfile_alive "$p" && kill "$(cat "$p")"
	done
	for p in "${started_daemons[@]}"; do
		for _ in $(seq 50); do pidfile_alive "$p" || break; sleep 0.2; done
	done
	started_daemons=()
	if [ "$(iptables_rules)" != "$iptables_rules_before" ]; then
		for t in $(iptables-save 2>/dev/null | sed -n 's/^\*//p'); do
			iptables -t "$t" -F; iptables -t "$t" -X
		done
		[ -z "$iptables_before" ] || iptables-restore <<<"$iptables_before"
	fi
	echo "$ip_forward" >/proc/sys/net/ipv4/ip_forward
}

cleanup() {
	local status=$?
	set +e
	echo
	echo "== vagrant: cleanup"
	teardown
	stop_daemons
	rm -rf "$work"
	exit $status
}
trap cleanup EXIT

phase "build the box (debootstrap)"
vagrant/box/build.sh --out "$work/box"

phase "vagrant box add"
vagrant box add --name "$box_name" "$work/box/stepbox-bookworm-amd64.box"
rm -rf "$work/box"

phase "vagrant validate"
(cd vagrant && vagrant validate)

phase "vagrant up (libvirt)"
make vm-up

phase "make vm-test"
make vm-test

phase "vagrant destroy"
make vm-destroy
vagrant box remove --force "$box_name" >/dev/null

phase ""
echo
echo "== vagrant: phase times"
printf '   %s\n' "${times[@]}"
printf '   %-26s %5ds\n' total $((SECONDS - started))

# Prove the host is as it was.
teardown
libvirt_after=$(libvirt_state)
stop_daemons
host_after=$(host_state)
if [ "$libvirt_before" != "$libvirt_after" ] || [ "$host_before" != "$host_after" ]; then
	echo "vagrant: the host changed:"
	diff <(echo "$libvirt_before"; echo "$host_before") <(echo "$libvirt_after"; echo "$host_after") || true
	exit 1
fi
echo "vagrant: host unchanged (domains, networks, pools, loop devices, links, mounts, iptables, ip_forward)"
