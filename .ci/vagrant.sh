#!/usr/bin/env bash
# CI: the full Vagrant cycle with a box built here from Debian's archive —
# build the box (cached), then, inside namespaces made here, vagrant box
# add, validate, up (libvirt; the kvm driver when libvirt's qemu can use
# KVM, else the qemu driver), the whole
# privileged suite in the guest, a known-bad step that must fail there,
# step 04's shell, destroy — with each phase's time. Run as root.
#
#   bash .ci/vagrant.sh
#
# Network: only the package installs and the box build (debootstrap) talk
# to Debian's archive, from the host. Everything after runs in a new
# network namespace with only lo and no route (unshare --net), with its
# own mount namespace: libvirtd, virtlogd, dnsmasq, the libvirt bridge, the
# guest and all traffic to it live there and nowhere else. libvirt's
# configuration and state are private copies under a temporary directory
# (.ci/vagrant-inside.sh). No named netns (ip netns add would mount on the
# host's /run/netns): the namespace ends with its last process.
#
# Teardown, pass, fail or timeout: the inside half destroys the domain,
# network, pool and volumes and stops the daemons; this half then kills
# whatever is still in that network namespace, removes the temporary
# directory, and fails the run if the host kept anything (processes,
# links, mounts, cgroups).
#
# Environment: STEPBOX_VAGRANT_TIMEOUT (seconds for the inside half,
# default 2400), STEPBOX_BOX_REBUILD=1 (ignore the cached box),
# STEPBOX_CACHE (cache root; default ~/.cache/stepbox).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "vagrant.sh: run as root (libvirt, namespaces, debootstrap)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-ci-vagrant-XXXXXX")
times=$work/times.txt
: >"$times"
started=$SECONDS
source .ci/phase.sh

# What this run could leave on the host, looked at before and after:
# libvirt's cgroups (none are expected: libvirt sees no cgroup mounts
# inside), links, mounts, named network namespaces.
libvirt_cgroups() { find /sys/fs/cgroup -mindepth 1 -type d \( -name 'machine*' -o -name '*libvirt*' -o -name '*vagrantci*' -o -name '*stepbox-default*' \) 2>/dev/null | sort; }
links() { ip -o link | awk -F': ' '{print $2}' | sort; }
# libvirt's links (its bridge, the guest's tap): other programs' links may
# come and go on a shared host meanwhile.
libvirt_links() { links | grep -E '^(virbr|vnet|macvtap)' || true; }
mount_points() { awk '{print $5}' /proc/self/mountinfo | sort; }
netns_names() { ip netns list 2>/dev/null | sort; }
# libvirt's own paths: the package makes /etc/libvirt and /var/lib/libvirt;
# the other three appear only when a libvirtd runs, which must never be on
# the host (the inside half makes them in its mount namespace only).
libvirt_paths() { ls -d /run/libvirt /var/cache/libvirt /var/log/libvirt /run/netns 2>/dev/null || true; }
cgroups_before=$(libvirt_cgroups)
links_before=$(libvirt_links)
mounts_before=$(mount_points)
netns_before=$(netns_names)
paths_before=""

# netns_pids lists the processes in the inside half's network namespace
# (as `ip netns pids` would for a named one): all of them this run's.
# pin_netns holds that namespace open on fd 9 until the end, so its
# inode number cannot go to another program's namespace meanwhile.
netns_id=""
pin_netns() {
	local pid
	for _ in $(seq 100); do [ -s "$work/inside.pid" ] && break; sleep 0.2; done
	pid=$(cat "$work/inside.pid" 2>/dev/null) || return 0
	exec 9<"/proc/$pid/ns/net" || return 0
	netns_id=$(readlink /proc/self/fd/9)
	[ "$netns_id" = "$(cat "$work/netns" 2>/dev/null)" ] || netns_id=""
	return 0
}
netns_pids() {
	local p
	[ -n "$netns_id" ] || return 0
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/ns/net" 2>/dev/null)" = "$netns_id" ] && echo "${p#/proc/}"
	done
	return 0
}

inside=""
cleaned=0
cleanup() {
	local status=$?
	set +e
	[ "$cleaned" = 1 ] && exit "$status"
	cleaned=1
	trap - EXIT INT TERM
	if [ -n "$inside" ] && kill -0 "$inside" 2>/dev/null; then
		echo "vagrant.sh: stopping the inside half (it tears down what it made)"
		kill -TERM "$inside"
		for _ in $(seq 150); do kill -0 "$inside" 2>/dev/null || break; sleep 1; done
	fi
	local left
	left=$(netns_pids)
	if [ -n "$left" ]; then
		echo "vagrant.sh: processes left in the namespace, stopping them:"
		ps -o pid,args -p "$(echo $left | tr ' ' ,)" | sed 's/^/  /'
		kill -TERM $left 2>/dev/null
		for _ in $(seq 30); do [ -z "$(netns_pids)" ] && break; sleep 0.5; done
		left=$(netns_pids)
		[ -z "$left" ] || kill -KILL $left 2>/dev/null
		sleep 1
		[ "$status" != 0 ] || status=1
	fi
	# Only cgroups that were not there before, and only when empty.
	local new
	new=$(comm -13 <(echo "$cgroups_before") <(libvirt_cgroups))
	if [ -n "$new" ]; then
		echo "vagrant.sh: libvirt made cgroups on the host, removing them:"; echo "$new" | sed 's/^/  /'
		echo "$new" | sort -r | xargs -r rmdir 2>/dev/null
		[ "$status" != 0 ] || status=1
	fi
	exec 9<&- # the namespace ends here
	rm -rf "$work"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

phase "install packages"
need=()
command -v vagrant >/dev/null || need+=(vagrant)
ls -d /usr/share/rubygems-integration/all/gems/vagrant-libvirt-* >/dev/null 2>&1 || need+=(vagrant-libvirt)
command -v libvirtd >/dev/null || need+=(libvirt-daemon-system)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v qemu-img >/dev/null || need+=(qemu-utils)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v sfdisk >/dev/null || need+=(fdisk)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
[ -f /usr/lib/grub/i386-pc/boot.img ] || need+=(grub-pc-bin)
command -v grub-mkimage >/dev/null || need+=(grub-common)
command -v rsync >/dev/null || need+=(rsync)
command -v ssh >/dev/null || need+=(openssh-client)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
command -v make >/dev/null || need+=(make)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
vagrant --version
vagrant plugin list
# (after the install: what the packages put there is theirs)
paths_before=$(libvirt_paths)
echo "libvirt's run-time paths on the host before the cycle: $(echo ${paths_before:-none})"

phase "go mod download (builds run offline later)"
go mod download

phase "build the box (debootstrap; cached)"
# The box is rebuilt when its recipe or the Go it carries changes.
cache=${STEPBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stepbox}/vagrant
key=$( { cat vagrant/box/build.sh; go env GOVERSION; } | sha256sum | cut -c1-16)
box_file=$cache/stepbox-bookworm-amd64-$key.box
if [ -f "$box_file" ] && [ "${STEPBOX_BOX_REBUILD:-0}" != 1 ]; then
	echo "cached: $box_file ($(du -h "$box_file" | cut -f1))"
else
	mkdir -p "$cache"
	vagrant/box/build.sh --out "$work/box"
	rm -f "$cache"/stepbox-bookworm-amd64-*.box
	mv "$work/box/stepbox-bookworm-amd64.box" "$box_file"
	rm -rf "$work/box"
fi

phase ""
# Everything from here runs inside: no route, so nothing can leave.
export STEPBOX_BOX=stepbox/ci-bookworm STEPBOX_OFFLINE=1 STEPBOX_PROVIDER=libvirt
export STEPBOX_LIBVIRT_PREFIX=vagrantci- # no "stepbox" in anything libvirt names
# No STEPBOX_LIBVIRT_DRIVER: the Vagrantfile asks libvirt whether its qemu
# can use KVM, as it does for a learner (set it to force one).
export VAGRANT_DEFAULT_PROVIDER=libvirt VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_HOME=$work/vagrant.d
export GOPROXY=off GOTOOLCHAIN=local
# Where vmtest records a KVM that opened but hung a guest, in this boot of
# the host (harness/vm/qemu's KVMHangsFile); the cycle reads and writes it too.
export STEPBOX_KVM_HANGS=${cache%/vagrant}/vm/kvm-hangs
timeout --kill-after=120 "${STEPBOX_VAGRANT_TIMEOUT:-2400}" \
	unshare --net --mount --uts --propagation private -- bash .ci/vagrant-inside.sh "$work" "$box_file" &
inside=$!
pin_netns
[ -n "$netns_id" ] && echo "vagrant.sh: the cycle's network namespace is $netns_id"
status=0
wait "$inside" || status=$?
inside=""
[ "$status" = 124 ] && echo "vagrant.sh: the inside half timed out after ${STEPBOX_VAGRANT_TIMEOUT:-2400}s"

echo
echo "== vagrant: phase times"
sed 's/^/   /' "$times"
printf '   %-44s %5ds\n' total $((SECONDS - started))

# The host after: nothing of this run's may remain.
echo
echo "== vagrant: host state"
left=$(netns_pids)
echo "processes in the cycle's network namespace: ${left:-none}"
new_cgroups=$(comm -13 <(echo "$cgroups_before") <(libvirt_cgroups))
echo "new libvirt cgroups: ${new_cgroups:-none}"
new_links=$(comm -13 <(echo "$links_before") <(libvirt_links))
echo "new libvirt links: ${new_links:-none}"
new_mounts=$(comm -13 <(echo "$mounts_before") <(mount_points))
echo "new mounts: ${new_mounts:-none}"
new_netns=$(comm -13 <(echo "$netns_before") <(netns_names))
echo "new named network namespaces: ${new_netns:-none}"
new_paths=$(comm -13 <(echo "$paths_before") <(libvirt_paths))
echo "new libvirt paths: ${new_paths:-none}"
# (a stopped daemon may stay a zombie until PID 1 reaps it: not running)
daemons=$(ps -eo pid=,stat=,args= | awk '$2 !~ /^Z/ && $3 ~ /(^|\/)(libvirtd|virtlogd|dnsmasq)$/' || true)
echo "libvirtd, virtlogd, dnsmasq running: ${daemons:-none}"
echo "hostname $(hostname); $(grep -c . /proc/self/mountinfo) mounts; links: $(links | tr '\n' ' ')"
if [ -n "$left$new_cgroups$new_links$new_mounts$new_netns$new_paths$daemons" ]; then
	echo "vagrant.sh: the host kept something of this run (above)" >&2
	[ "$status" != 0 ] || status=1
fi
exit "$status"
