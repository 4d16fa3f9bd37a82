#!/bin/sh
# shellbox: steps 01-05 of the stepbox contract in POSIX sh and util-linux
# (or busybox), written from the contract in the README alone, to prove
# that the harness judges the contract and not the course's Go code.
#
#   shellbox.sh run [--hostname NAME] [--rootfs DIR] [--cpus N] CMD [ARG...]
#
# SHELLBOX_STEP (1-5, default 5) says which step's contract to follow; the
# shellbox-0N wrappers set it. Processes, for step 05:
#
#   runtime (the PID the caller started; in the host's PID namespace)
#   |-- cleaner: removes the cgroup once the runtime closes a pipe
#   `-- child = container command: PID 1, new mount/UTS/IPC namespaces
#
# The runtime must stay the command's parent (the contract: the command
# replaces the child), so it cannot run `unshare --fork`, which would sit
# in between. It re-execs itself through `unshare --pid` instead: its own
# next child is then PID 1 of the new namespace. Once that PID 1 exits
# the namespace is dead and the runtime can fork nothing more, so the
# cleaner (forked before) removes the cgroup, and the runtime only uses
# shell builtins after the container.

set -u
prog=shellbox
step=${SHELLBOX_STEP:-5}

usage() {
	echo "$prog: $1 (usage: $prog run [--hostname NAME] [--rootfs DIR] [--cpus N] CMD [ARG...])" >&2
	exit 2
}

# die: a runtime failure, one line, exit 125 (the contract).
die() {
	echo "$prog: $*" >&2
	exit 125
}

# quota_of prints the CPU quota in microseconds per 100000 for a --cpus
# value ("0.5" -> 50000), or fails for anything but a plain decimal.
quota_of() {
	case $1 in '' | .* | *. | *[!0-9.]* | *.*.*) return 1 ;; esac
	int=${1%%.*} frac=
	case $1 in *.*) frac=${1#*.} ;; esac
	[ ${#int} -le 6 ] || return 1
	while [ ${#frac} -lt 5 ]; do frac=${frac}0; done
	frac=${frac%"${frac#?????}"}   # microseconds: 5 decimals at most
	int=${int#"${int%%[!0]*}"} frac=${frac#"${frac%%[!0]*}"}  # no octal
	echo $((${int:-0} * 100000 + ${frac:-0}))
}

# cpu_hierarchy prints "v1 DIR" or "v2 DIR": where the cpu controller is.
cpu_hierarchy() {
	v2=
	while read -r _ dir fstype opts _; do
		case $fstype,$opts, in
		cgroup,*,cpu,*) echo "v1 $dir" && return 0 ;;
		cgroup2,*) grep -qw cpu "$dir/cgroup.controllers" 2>/dev/null && v2=$dir ;;
		esac
	done </proc/self/mounts
	[ -n "$v2" ] && echo "v2 $v2"
}

# make_cgroup makes the container's cgroup with the quota and prints its
# directory. Its name is the runtime's PID: unique while it runs.
make_cgroup() {
	set -- $(cpu_hierarchy) || die "no cgroup hierarchy has the cpu controller"
	[ $# -eq 2 ] || die "no cgroup hierarchy has the cpu controller"
	dir=$2/$prog-$$
	if [ "$1" = v2 ] && ! grep -qw cpu "$2/cgroup.subtree_control"; then
		echo +cpu >"$2/cgroup.subtree_control" || die "cannot enable the cpu controller in $2"
	fi
	mkdir "$dir" || die "cannot make the cgroup $dir"
	if [ "$1" = v2 ]; then
		echo "$quota 100000" >"$dir/cpu.max"
	else
		echo 100000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us"
	fi || { rmdir "$dir"; die "cannot set the CPU quota in $dir"; }
	echo "$dir"
}

# remove_cgroup: its last process may need a moment to leave it.
remove_cgroup() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		rmdir "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	rmdir "$1"
}

# start_cleaner forks the process that removes the cgroup when fd 8 of
# the runtime closes (it is done, or it died). Its answer comes on fd 9.
start_cleaner() {
	fifos=$(mktemp -d) && mkfifo "$fifos/alive" "$fifos/done" || die "cannot make fifos in $fifos"
	# Read-write opens of a fifo never block; nothing else holds these.
	exec 8<>"$fifos/alive" 7<"$fifos/alive" 9<>"$fifos/done"
	(
		exec 8>&- </dev/null >/dev/null 2>&1
		read -r _ <&7
		err=$(remove_cgroup "$1" 2>&1) || { echo "cannot remove the cgroup $1: $err" >&9; exit; }
		echo ok >&9
	) &
	exec 7<&-
	rm -r "$fifos"
}

# ---- the runtime: parse, check, make the cgroup, start the child ----

runtime() {
	[ $# -gt 0 ] || usage "no subcommand"
	[ "$1" = run ] || usage "unknown subcommand \"$1\""
	shift
	hostname=container rootfs=./rootfs cpus=0.5
	while [ $# -gt 0 ]; do
		case $1 in
		--) shift && break ;;
		--*=*) flag=${1%%=*} value=${1#*=} && shift ;;
		--*) flag=$1 && [ $# -ge 2 ] || usage "$1 needs a value"
			value=$2 && shift 2 ;;
		*) break ;;
		esac
		case $step,$flag in
		[2-9],--hostname) hostname=$value ;;
		[4-9],--rootfs) rootfs=$value ;;
		[5-9],--cpus) cpus=$value ;;
		*) usage "unknown flag $flag" ;;
		esac
	done
	[ $# -gt 0 ] || usage "no command to run"
	[ -n "$hostname" ] || usage "--hostname must not be empty"
	cg=-
	if [ "$step" -ge 5 ]; then
		quota=$(quota_of "$cpus") && [ "$quota" -ge 1000 ] && [ "$quota" -le $(($(nproc) * 100000)) ] ||
			usage "--cpus $cpus: want a number from 0.01 to the number of CPUs ($(nproc))"
	fi
	if [ "$step" -ge 4 ]; then
		[ -d "$rootfs" ] || die "rootfs \"$rootfs\" not found: give --rootfs DIR, a directory holding the container's files"
	fi
	if [ "$step" -ge 5 ]; then
		cg=$(make_cgroup) || exit 125
		start_cleaner "$cg"
	fi
	set -- "$hostname" "$rootfs" "$cg" "$@"
	if [ "$step" -ge 3 ]; then
		# No --fork: this process stays itself; its next child is PID 1.
		exec unshare --pid -- "$0" _parent "$@"
	fi
	parent "$@"
}

# parent runs the child, waits, and exits with the command's status,
# 128+N when signal N killed it. The trap keeps the runtime alive on ^C
# (the command gets it) and, unlike an ignored signal, is not inherited.
parent() {
	trap : INT QUIT
	case $step in
	1) "$0" _child "$@" 8>&- 9>&- ;;
	2) unshare --uts -- "$0" _child "$@" 8>&- 9>&- ;;
	# / is shared on systemd hosts: unless the new mount namespace is made
	# private, every mount the child makes appears outside too.
	*) unshare --mount --uts --ipc --propagation private -- "$0" _child "$@" 8>&- 9>&- ;;
	esac
	status=$?
	# From here on, builtins only: no process can be forked any more.
	if [ "$3" != - ]; then
		exec 8>&-
		read -r answer <&9
		[ "$answer" = ok ] || echo "$prog: $answer" >&2
	fi
	exit "$status"
}

# ---- the child: set up the container, then become the command ----

child() {
	hostname=$1 rootfs=$2 cg=$3
	shift 3
	unset SHELLBOX_STEP
	if [ "$cg" != - ]; then
		# Join before anything runs; 0 means the writer itself.
		echo 0 >"$cg/cgroup.procs" || die "cannot join the cgroup $cg"
	fi
	if [ "$step" -ge 2 ]; then
		hostname "$hostname" || die "cannot set the hostname to $hostname"
	fi
	if [ "$step" -eq 3 ]; then
		mount -t proc proc /proc || die "cannot mount /proc"
	fi
	if [ "$step" -ge 4 ]; then
		enter_rootfs "$rootfs"
	fi
	exec_command "$@"
}

# enter_rootfs pivots into the rootfs and detaches the host's tree. All
# mounts are made before pivot_root, with the host's tools; after it, only
# the rootfs's own umount runs.
enter_rootfs() {
	# pivot_root needs the new root to be a mount point.
	mount --bind "$1" "$1" || die "cannot bind-mount the rootfs $1"
	cd "$1" || die "cannot enter the rootfs $1"
	mount -t proc proc proc || die "cannot mount proc in $1"
	mount -t tmpfs -o mode=755,nosuid tmpfs dev || die "cannot mount a tmpfs on $1/dev"
	make_dev dev || die "cannot make the devices in $1/dev"
	# The old root goes on top of the new one, then is detached from it.
	pivot_root . . || die "pivot_root into $1 failed"
	umount -l . || die "cannot detach the old root"
	cd /
}

make_dev() {
	mknod -m 666 "$1/null" c 1 3 && mknod -m 666 "$1/zero" c 1 5 &&
		mknod -m 666 "$1/full" c 1 7 && mknod -m 666 "$1/random" c 1 8 &&
		mknod -m 666 "$1/urandom" c 1 9 && mknod -m 666 "$1/tty" c 5 0 &&
		ln -s /proc/self/fd "$1/fd" && ln -s /proc/self/fd/0 "$1/stdin" &&
		ln -s /proc/self/fd/1 "$1/stdout" && ln -s /proc/self/fd/2 "$1/stderr"
}

# exec_command replaces this process with the command: 127 when it does
# not exist, 126 when it cannot be executed.
exec_command() {
	case $1 in
	*/*) [ -e "$1" ] || { echo "$prog: $1: no such file or directory" >&2; exit 127; } ;;
	*) command -v "$1" >/dev/null || { echo "$prog: $1: command not found" >&2; exit 127; } ;;
	esac
	exec "$@"
	exit 126
}

case ${1:-} in
_parent) shift && parent "$@" ;;
_child) shift && child "$@" ;;
*) runtime "$@" ;;
esac
