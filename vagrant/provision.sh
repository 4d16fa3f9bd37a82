#!/bin/sh
# Provisioning for the stepbox VM, run as root by `vagrant up` (and again
# by `vagrant provision`): installs what the guest needs and changes
# nothing when it is already there. STEPBOX_OFFLINE=1 installs nothing and
# fails, naming what is missing, when the box lacks something the tests need.
set -eu

repo=${STEPBOX_REPO:-/home/vagrant/stepbox}
offline=${STEPBOX_OFFLINE:-0}
export DEBIAN_FRONTEND=noninteractive

say() { echo "stepbox provision: $*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# busybox-static: the rootfs needs a static busybox (Debian's plain busybox
# is dynamically linked). make: the make targets. rsync: the synced folder.
missing=""
for pkg in busybox-static make rsync; do
	installed "$pkg" || missing="$missing $pkg"
done
apt_updated=0
apt_update() {
	[ "$apt_updated" = 1 ] && return 0
	apt-get update -qq
	apt_updated=1
}
if [ -n "$missing" ]; then
	if [ "$offline" = 1 ]; then
		say "STEPBOX_OFFLINE=1 but the box lacks:$missing (build the box with vagrant/box/build.sh, or provision online once)" >&2
		exit 1
	fi
	say "installing$missing"
	apt_update
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
	say "busybox-static, make and rsync are installed"
fi

# Go, for learners who edit inside the VM. The tests do not need it:
# make vm-test compiles them on the host.
want=$(awk '$1 == "go" { print $2; exit }' "$repo/go.mod" 2>/dev/null || true)
version_ok() { [ -n "$1" ] && [ "$(printf '%s\n%s\n' "$want" "$1" | sort -V | head -1)" = "$want" ]; }
have=""
for go in /usr/local/go/bin/go /usr/lib/go/bin/go /usr/bin/go; do
	if [ -x "$go" ]; then
		have=$("$go" env GOVERSION 2>/dev/null | sed 's/^go//')
		version_ok "$have" && break
	fi
done
if [ -z "$want" ]; then
	say "no go.mod in $repo yet (synced folder missing?): Go not checked" >&2
elif version_ok "$have"; then
	say "Go $have is installed (go.mod wants $want)"
else
	candidate=""
	if [ "$offline" != 1 ]; then
		apt_update
		candidate=$(apt-cache policy golang-go 2>/dev/null | awk '/Candidate:/ { print $2 }' | sed 's/^[0-9]*://; s/[~+-].*//')
	fi
	if [ "$offline" != 1 ] && version_ok "$candidate"; then
		say "installing golang-go $candidate from the distribution"
		apt-get install -y -qq --no-install-recommends golang-go >/dev/null
	else
		say "NOTE: go.mod wants Go $want; this VM has ${have:-no Go} and its package archive offers ${candidate:-nothing newer}." >&2
		say "NOTE: make vm-test and make vm-step-NN still work (they compile on the host). To edit and build inside" >&2
		say "NOTE: the VM, unpack Go $want into /usr/local/go, or use a box built by vagrant/box/build.sh, which carries it." >&2
	fi
fi
if [ -x /usr/local/go/bin/go ] && [ ! -e /etc/profile.d/go.sh ]; then
	echo 'export PATH=$PATH:/usr/local/go/bin' >/etc/profile.d/go.sh
fi

# No timers: a service that starts in the background during a test run
# changes the guest's mount table (systemd mounts /run/credentials/UNIT for
# it), and the harness's host guard rightly fails the check that was
# running (seen: systemd-tmpfiles-clean.timer, 15 minutes after boot).
# This VM is for the course; apt-daily and friends are not wanted either.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	timers=$(systemctl list-unit-files --type=timer --no-legend 2>/dev/null | awk '$2 != "masked" { print $1 }')
	if [ -n "$timers" ]; then
		# shellcheck disable=SC2086
		systemctl mask --now $timers >/dev/null 2>&1 || true
		left=$(systemctl list-unit-files --type=timer --no-legend 2>/dev/null | awk '$2 != "masked" { print $1 }')
		if [ -n "$left" ]; then
			say "WARNING: could not mask timers:" $left "(a test may see the guest's mounts change)" >&2
		else
			say "timers masked (nothing runs behind a test's back):" $timers
		fi
	else
		say "no timers (all masked)"
	fi
fi

if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
	say "cgroup v2: $(cat /sys/fs/cgroup/cgroup.controllers)"
else
	say "cgroup v1 (or hybrid)"
fi
