# Vagrant test backend: the course in a Linux VM, for macOS, Windows, or
# any host you would rather not experiment on (see vagrant/README.md).
#
#   make vm-up          create and provision the VM
#   make vm-test        the whole privileged suite in the guest, each result reported here
#   make vm-test-broken a known-bad step (VM_BREAK, default pid.one) fails in the guest (after vm-test)
#   make vm-step-04     a shell inside step 04's container, in the guest
#   make vm-ssh         a shell in the guest
#   make vm-destroy     remove the VM
#
# VMTEST_ONLY='steps/04-pivotroot' and VMTEST_RUN=PATTERN narrow vm-test;
# STEPBOX_BOX, STEPBOX_PROVIDER, STEPBOX_OFFLINE: see vagrant/Vagrantfile.
# Included by the root Makefile; also works alone: make -f mk/vagrant.mk vm-test

VAGRANT_VM ?= vagrant/vm.sh
# The check whose known-bad program replaces its step for vm-test-broken.
VM_BREAK ?= pid.one

.PHONY: vm-up vm-test vm-test-broken vm-ssh vm-destroy

vm-up:
	$(VAGRANT_VM) up

vm-test:
	$(VAGRANT_VM) test

vm-test-broken:
	$(VAGRANT_VM) broken $(VM_BREAK)

vm-step-%:
	$(VAGRANT_VM) step $*

vm-ssh:
	$(VAGRANT_VM) ssh

vm-destroy:
	$(VAGRANT_VM) destroy
