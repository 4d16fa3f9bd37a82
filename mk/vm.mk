# QEMU test backend: the privileged test suite in a second kernel (a pinned
# Debian kernel, pure cgroup v2), booted directly under qemu-system-x86_64,
# or qemu-system-aarch64 for an arm64 guest. No root and no KVM needed on
# the host; KVM is used when /dev/kvm opens and the guest is the host's
# architecture, and software emulation takes over when the guest does not
# reach its init under KVM within 90 s; that finding is kept for this boot
# of the host (kvm-hangs in the VM cache), so later runs go straight to
# software emulation (STEPBOX_QEMU_ACCEL=tcg forces software emulation,
# =kvm forbids the fallback).
#
#   make vm-test-qemu                       run every test package in the guest
#   make vm-test-qemu-broken                prove a known-bad step fails in the guest
#   make vm-test-qemu VM_ARCH=arm64         the same in an arm64 guest (also -broken)
#
# VMTEST_FLAGS passes flags to the command, e.g. VMTEST_FLAGS='--only steps/04-pivotroot'.
# Included by the root Makefile; also works alone: make -f mk/vm.mk vm-test-qemu

include $(dir $(lastword $(MAKEFILE_LIST)))defaults.mk
VM_TMP ?= $(or $(TMPDIR),/tmp)
VMTEST_BIN ?= $(VM_TMP)/stepbox-vmtest
# The guest's architecture (its GOARCH): amd64 or arm64.
VM_ARCH ?= amd64
vm_suffix := $(if $(filter amd64,$(VM_ARCH)),,-$(VM_ARCH))
VM_LOG ?= $(VM_TMP)/stepbox-vm-test$(vm_suffix).log
VM_BROKEN_LOG ?= $(VM_TMP)/stepbox-vm-test-broken$(vm_suffix).log
VMTEST_FLAGS ?=
# The check whose known-bad program replaces its step for vm-test-qemu-broken.
VM_BREAK ?= pid.one
VM_BREAK_STEP ?= steps/03-pid-mnt

.PHONY: vm-test-qemu vm-test-qemu-broken vmtest-bin

# go run would turn every failure into exit 1; the status matters here.
vmtest-bin:
	$(GO) build -o $(VMTEST_BIN) ./harness/cmd/vmtest

vm-test-qemu: vmtest-bin
	$(VMTEST_BIN) --arch $(VM_ARCH) --log $(VM_LOG) $(VMTEST_FLAGS)

# Exit 1 means the guest ran and reported a failure; anything else (0, or
# 3 for a guest that never reported) means the proof did not happen.
vm-test-qemu-broken: vmtest-bin
	@status=0; $(VMTEST_BIN) --arch $(VM_ARCH) --only $(VM_BREAK_STEP) --break $(VM_BREAK) --log $(VM_BROKEN_LOG) $(VMTEST_FLAGS) || status=$$?; \
	if [ $$status -ne 1 ]; then \
		echo "vm-test-qemu-broken: expected exit 1 (the guest reports the broken step), got $$status" >&2; exit 1; \
	fi; \
	if ! grep -q 'FAIL $(VM_BREAK): expected' $(VM_BROKEN_LOG) || ! grep -q '^STEPBOX-VM-END $(VM_BREAK_STEP) fail' $(VM_BROKEN_LOG); then \
		echo "vm-test-qemu-broken: the run failed, but not on check $(VM_BREAK) in $(VM_BREAK_STEP) (see $(VM_BROKEN_LOG))" >&2; exit 1; \
	fi; \
	echo "vm-test-qemu-broken: OK, the known-bad $(VM_BREAK_STEP) failed $(VM_BREAK) in the $(VM_ARCH) guest"
