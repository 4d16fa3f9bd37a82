#!/usr/bin/env bash
# CI: the privileged test suite again in a second kernel under QEMU (pure
# cgroup v2, software emulation, no KVM), then proof that a known-bad step
# fails there. Called by .ci/run; runs alone too. Prints per-phase times.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
export DEBIAN_FRONTEND=noninteractive

started=$SECONDS
phase_start=$SECONDS
phase_name=""
phase() {
	if [ -n "$phase_name" ]; then
		printf -- '-- %s took %ds\n' "$phase_name" $((SECONDS - phase_start))
	fi
	phase_name=$1
	phase_start=$SECONDS
	[ -n "$1" ] && printf '\n== qemu: %s (%s)\n' "$1" "$(date -u +%T)"
	return 0
}

# The root Makefile includes mk/*.mk; without it, use the fragment alone.
mk() {
	if [ -f Makefile ]; then make "$@"; else make -f mk/vm.mk "$@"; fi
}

phase "install qemu-system-x86, busybox-static"
if ! command -v qemu-system-x86_64 >/dev/null || ! command -v busybox >/dev/null || ! command -v dpkg-deb >/dev/null; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends qemu-system-x86 busybox-static dpkg >/dev/null
fi
qemu-system-x86_64 --version | head -1

phase "make vm-test-qemu"
mk vm-test-qemu

phase "make vm-test-qemu-broken"
mk vm-test-qemu-broken

phase ""
printf '== qemu: total %ds\n' $((SECONDS - started))
