#!/usr/bin/env bash
# Drive the stepbox VM from the host; the make targets call this.
#
#   vagrant/vm.sh up          create and provision the VM (vagrant up)
#   vagrant/vm.sh test        the whole privileged suite in the guest
#   vagrant/vm.sh broken [CHECK]  the known-bad program for CHECK (default
#                             pid.one) replaces its step in the guest; that
#                             step's tests must fail there, on CHECK
#   vagrant/vm.sh step NN     a shell inside step NN's container, in the guest
#   vagrant/vm.sh ssh         a shell in the guest, in the repository
#   vagrant/vm.sh destroy     remove the VM (vagrant destroy)
#
# Binaries are cross-compiled here (CGO_ENABLED=0, GOARCH of the guest:
# uname -m there, x86_64 = amd64, aarch64 = arm64) and copied in, so
# nothing compiles in the VM, which may be emulated.
# Environment: STEPBOX_PROVIDER (vagrant up --provider), VMTEST_RUN (a
# -test.run pattern), VMTEST_ONLY (space-separated packages, e.g.
# "steps/04-pivotroot"), and the Vagrantfile's STEPBOX_* variables.
#
# test exits 0 when every package passed, 1 when any failed, 125 when the
# run could not happen (no VM, build failure). broken exits 0 when the
# broken step failed on CHECK in the guest, 1 when it did not.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
export VAGRANT_CWD=$repo/vagrant
guest_repo=/home/vagrant/stepbox
guest_bin=/var/tmp/stepbox-vm        # the guest's own disk, not a share
guest_rootfs=/var/tmp/stepbox-rootfs
state=$VAGRANT_CWD/.vagrant
GO=${GO:-go}
work=""

die() { echo "vm.sh: $*" >&2; exit 125; }

ssh_config() {
	mkdir -p "$state"
	vagrant ssh-config >"$state/stepbox-ssh-config" 2>/dev/null ||
		die "no running VM: make vm-up first"
}

# gssh runs a command in the guest over plain ssh (much faster than
# `vagrant ssh` once the config is known).
# gssh never reads the terminal (-n), so it cannot swallow what a learner
# types ahead; gssh_stdin passes stdin on, gssh_tty gives a terminal.
gssh() { ssh -n -F "$state/stepbox-ssh-config" -o LogLevel=ERROR default "$@"; }
gssh_stdin() { ssh -F "$state/stepbox-ssh-config" -o LogLevel=ERROR default "$@"; }
# Without a terminal (a script piping commands in), no -t: the remote
# shell reads its commands from stdin.
gssh_tty() {
	local t=-T
	[ -t 0 ] && t=-t
	ssh "$t" -F "$state/stepbox-ssh-config" -o LogLevel=ERROR default "$@"
}

# copy_in copies a host directory's contents to a guest directory.
copy_in() {
	gssh "rm -rf $2 && mkdir -p $2"
	tar -C "$1" -cf - . | gssh_stdin "tar -C $2 -xf -"
}

guest_goarch() {
	local m
	m=$(gssh uname -m) || die "cannot reach the VM over ssh"
	case $m in
	x86_64) echo amd64 ;;
	aarch64 | arm64) echo arm64 ;;
	*) die "guest architecture $m is not supported" ;;
	esac
}

timed() {
	local name=$1 start=$SECONDS
	shift
	local status=0
	"$@" || status=$?
	printf 'vm.sh: %-22s %4ds\n' "$name" $((SECONDS - start)) >&2
	return $status
}

cmd_up() {
	vagrant up ${STEPBOX_PROVIDER:+--provider "$STEPBOX_PROVIDER"}
}

cmd_test() {
	ssh_config
	local arch
	arch=$(guest_goarch)
	work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-vagrant-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	timed "sync sources" vagrant rsync >/dev/null
	(cd "$repo" && timed "build ($arch)" "$GO" run ./harness/vm/vagrant --arch "$arch" --out "$work") || die "building the test binaries failed"
	timed "copy binaries" copy_in "$work" "$guest_bin"

	local env="STEPBOX_REQUIRE_PRIVILEGED=1 STEPBOX_PREBUILT=$guest_bin/prebuilt STEPBOX_CACHE=/var/tmp/stepbox-cache"
	local args="-test.v -test.count=1 -test.timeout=15m${VMTEST_RUN:+ -test.run='$VMTEST_RUN'}"
	local summary=() failed=0 passed=0 pkg bin start status out
	while IFS=$'\t' read -r pkg bin; do
		if [ -n "${VMTEST_ONLY:-}" ] && [[ " $VMTEST_ONLY " != *" $pkg "* ]]; then
			continue
		fi
		echo "== vm-test: $pkg"
		out=$work/$(echo "$pkg" | tr / _).log
		start=$SECONDS
		status=0
		gssh "cd $guest_repo/$pkg && sudo env $env $guest_bin/$bin $args" 2>&1 | tee "$out" || status=$?
		local n_pass n_fail n_skip
		n_pass=$(grep -c -- '^--- PASS' "$out" || true)
		n_fail=$(grep -c -- '^--- FAIL' "$out" || true)
		n_skip=$(grep -c -- '^--- SKIP' "$out" || true)
		if [ "$status" = 0 ]; then
			passed=$((passed + 1))
			summary+=("$(printf 'PASS %-22s %3d passed, %d skipped %5ds' "$pkg" "$n_pass" "$n_skip" $((SECONDS - start)))")
		else
			failed=$((failed + 1))
			summary+=("$(printf 'FAIL %-22s %3d passed, %d failed, %d skipped, exit %d %5ds' "$pkg" "$n_pass" "$n_fail" "$n_skip" "$status" $((SECONDS - start)))")
			while read -r line; do summary+=("       $line"); done < <(grep -E -- '^ *--- FAIL' "$out" || true)
		fi
	done <"$work/tests.txt"
	echo
	printf 'vm-test: %s\n' "${summary[@]}"
	[ $((passed + failed)) -gt 0 ] || die "no test package ran (VMTEST_ONLY=${VMTEST_ONLY:-})"
	echo "vm-test: $passed passed, $failed failed"
	[ "$failed" = 0 ]
}

# cmd_broken runs one step's test binary in the guest with its step
# replaced by the known-bad program for a check (as the QEMU backend's
# --break does): the run must fail, and on that check. It uses what the
# last `vm.sh test` copied in (mutants.txt: CHECK, package, step binary,
# mutant binary).
cmd_broken() {
	local check=${1:-pid.one}
	ssh_config
	local line pkg stepbin mutant bin
	line=$(gssh "cat $guest_bin/mutants.txt" 2>/dev/null | awk -F'\t' -v c="$check" '$1 == c') ||
		die "no $guest_bin/mutants.txt in the guest: run make vm-test first"
	[ -n "$line" ] || die "no known-bad program for check $check (see harness/mutants.go)"
	IFS=$'\t' read -r _ pkg stepbin mutant <<<"$line"
	bin=$(gssh "cat $guest_bin/tests.txt" | awk -F'\t' -v p="$pkg" '$1 == p { print $2 }')
	[ -n "$bin" ] || die "no test binary for $pkg in the guest's tests.txt"
	# A hard-linked copy of prebuilt/ with the step swapped: the good
	# binaries stay as they were for the next vm-test.
	gssh "rm -rf $guest_bin/broken && cp -al $guest_bin/prebuilt $guest_bin/broken && rm $guest_bin/broken/$stepbin && cp $guest_bin/prebuilt/$mutant $guest_bin/broken/$stepbin" ||
		die "replacing $stepbin in the guest failed"
	echo "== vm-test-broken: $pkg with $stepbin replaced by $mutant (the known-bad program for $check)"
	work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-vagrant-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	local env="STEPBOX_REQUIRE_PRIVILEGED=1 STEPBOX_PREBUILT=$guest_bin/broken STEPBOX_CACHE=/var/tmp/stepbox-cache"
	local status=0
	gssh "cd $guest_repo/$pkg && sudo env $env $guest_bin/$bin -test.v -test.count=1 -test.timeout=15m${VMTEST_RUN:+ -test.run='$VMTEST_RUN'}" 2>&1 | tee "$work/out" || status=$?
	gssh "rm -rf $guest_bin/broken" || true
	if [ "$status" = 0 ]; then
		echo "vm-test-broken: FAILED: $pkg passed with the known-bad $stepbin; the guest swallowed the defect" >&2
		return 1
	fi
	if ! grep -q -- "FAIL $check: expected" "$work/out"; then
		echo "vm-test-broken: FAILED: $pkg failed (exit $status), but not on check $check" >&2
		return 1
	fi
	echo "vm-test-broken: OK, $pkg failed in the guest (exit $status) on check $check"
}

cmd_step() {
	local n=${1:-}
	[[ $n =~ ^[0-9][0-9]$ ]] || { echo "usage: vm.sh step NN (e.g. 04)" >&2; exit 2; }
	local dir
	dir=$(cd "$repo" && ls -d steps/"$n"-* 2>/dev/null | head -1) || true
	[ -n "$dir" ] || die "no folder steps/$n-*"
	ssh_config
	local arch
	arch=$(guest_goarch)
	work=$(mktemp -d "${TMPDIR:-/tmp}/stepbox-vagrant-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	(
		cd "$repo"
		export CGO_ENABLED=0 GOOS=linux GOARCH=$arch
		"$GO" build -o "$work/step-$n" "./$dir"
		"$GO" build -o "$work/probe" ./harness/cmd/probe
		"$GO" build -o "$work/mkrootfs" ./harness/cmd/mkrootfs
	) || die "building step $n for linux/$arch failed"
	copy_in "$work" "$guest_bin-step"
	# The rootfs lives on the guest's disk; mkrootfs takes the probe built
	# here ($STEPBOX_PREBUILT) and the guest's static busybox.
	gssh "test -x $guest_rootfs/probe || sudo env STEPBOX_PREBUILT=$guest_bin-step $guest_bin-step/mkrootfs -o $guest_rootfs >/dev/null" ||
		die "making the rootfs in the guest failed"
	local flags=""
	[ "$n" != 01 ] && flags="$flags --hostname container"
	[ "$((10#$n))" -ge 4 ] && flags="$flags --rootfs $guest_rootfs"
	echo "vm.sh: step $n's container in the VM; exit leaves it" >&2
	gssh_tty "cd $guest_repo 2>/dev/null; sudo $guest_bin-step/step-$n run$flags /bin/sh"
}

cmd_ssh() {
	ssh_config
	gssh_tty "cd $guest_repo 2>/dev/null; exec \$SHELL -l"
}

cmd_destroy() {
	vagrant destroy -f
	rm -f "$state/stepbox-ssh-config"
}

case ${1:-} in
up) cmd_up ;;
test) cmd_test ;;
broken) shift; cmd_broken "$@" ;;
step) shift; cmd_step "$@" ;;
ssh) cmd_ssh ;;
destroy) cmd_destroy ;;
*) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
