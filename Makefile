# stepbox: make targets for learners, instructors and CI.
# Run as yourself: the targets that need root call sudo themselves.

include mk/defaults.mk
BIN     ?=
ROOTFS  ?= rootfs
STEPNUMS := $(patsubst steps/%,%,$(foreach d,$(wildcard steps/[0-9][0-9]-*),$(firstword $(subst -, ,$(d)))))

# Root is needed to create namespaces and cgroups. sudo resets PATH, so
# pass ours on: that is where go lives.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo env "PATH=$(PATH)" "HOME=$(HOME)")

# "make step-04 test" runs only step 04's tests; "make step-04" alone
# gives a shell in step 04's container.
STEP_GOALS := $(filter step-%,$(MAKECMDGOALS))
ONLY_TEST  := $(and $(filter test,$(MAKECMDGOALS)),$(STEP_GOALS))

.PHONY: help deps rootfs test golden step-% check diff vet fmt clean

help:
	@echo "make step-05            a shell inside step 05's container (any step: step-01 .. step-$(lastword $(STEPNUMS)))"
	@echo "make test               every test (make step-04 test: only step 04's)"
	@echo "make golden             rewrite the golden transcripts of stepcheck's output that make test compares"
	@echo "make exercise STEP=04   your own copy of step 04 to write, in workspace/ (then make check/hint/solution STEP=04)"
	@echo "make check STEP=04      check your copy of step 04 (BIN=path: any binary)"
	@echo "make hint STEP=04       the next hint for the first failing check"
	@echo "make solution STEP=04   the reference solution, as a diff against your copy"
	@echo "make progress           all your copies, checked now: steps x checks"
	@echo "make diff STEP=04       what step 04 adds to step 03"
	@echo "make rootfs             build the default busybox rootfs in ./rootfs"
	@echo "make vm-up / vm-test / vm-step-04 / vm-ssh / vm-destroy   the same in a Vagrant VM"
	@echo "make vm-test-qemu       every test in a second kernel (pure cgroup v2) under QEMU (VM_ARCH=arm64: an arm64 guest)"
	@echo "make bench / stress     speed ratios side by side; load, faults and fuzzing"
	@echo "make attacks            run step 10's attacks against steps 09 and 10 and rewrite the table in its README"
	@echo "make oci-conformance    the OCI runtime-tools suite on step 11, runc and crun; the table in step 11's README"
	@echo "make article            check the seed article's programs and rewrite docs/article.md"

# deps installs what a fresh Debian or Ubuntu machine lacks.
deps:
	@$(SUDO) scripts/deps

rootfs: $(ROOTFS)/probe
$(ROOTFS)/probe:
	@$(MAKE) --no-print-directory deps
	$(GO) run ./harness/cmd/mkrootfs -o $(ROOTFS)

step-%:
ifeq ($(ONLY_TEST),)
	@$(MAKE) --no-print-directory rootfs
	@mkdir -p bin
	@# static, as the tests build them: step 10 changes every thread's capabilities, which Go can do only without cgo
	CGO_ENABLED=0 $(GO) build -o bin/step-$* ./$(wildcard steps/$*-*)
	$(if $(filter 01 02 03,$*),$(SUDO) bin/step-$* run $(if $(filter-out 01,$*),--hostname container) /bin/sh,@$(call shell_on_rootfs,$*))
endif

# shell_on_rootfs runs step $(1)'s shell on ./rootfs, then says in one
# line whether the rootfs changed: from step 08 on, whatever root does
# inside, it does not.
define shell_on_rootfs
before=$$($(rootfs_sum)); status=0; \
echo '$(SUDO) bin/step-$(1) run --hostname container --rootfs $(ROOTFS) /bin/sh'; \
$(SUDO) bin/step-$(1) run --hostname container --rootfs $(ROOTFS) /bin/sh || status=$$?; \
after=$$($(rootfs_sum)); \
if [ "$$before" = "$$after" ]; then echo "stepbox: $(ROOTFS) is unchanged (sha256 $$after...)"; \
else echo "stepbox: $(ROOTFS) changed (sha256 $$before... now $$after...): before step 08 the container writes into it"; fi; \
exit $$status
endef

# A checksum of the rootfs: every path, mode, owner and content, in order.
rootfs_sum = $(SUDO) tar --sort=name -C $(ROOTFS) -cf - . | sha256sum | cut -c1-16

# Every package but the learners' copies in workspace/: yours may be half
# written, and the course's own tests must not depend on it.
GOPKGS = $(filter-out github.com/stepbox/stepbox/workspace/%,$(shell $(GO) list -e ./...))

vet:
	$(GO) vet $(GOPKGS)

test: deps vet
	$(GO) test -count=1 -p 1 -timeout 40m $(if $(SUDO),-exec '$(SUDO)') $(if $(ONLY_TEST),$(foreach s,$(STEP_GOALS:step-%=%),./$(wildcard steps/$(s)-*)),$(GOPKGS))

# golden rewrites the golden transcripts (harness/testdata/transcripts):
# what stepcheck prints for every reference step and one known-bad
# program per step. make test compares them; review the diff, then commit.
golden: deps
	$(GO) test -count=1 -p 1 -timeout 40m $(if $(SUDO),-exec '$(SUDO)') ./steps/... ./harness -run 'TestStep$$|TestMutantTranscripts' -update

# Without BIN: your copy in workspace/ (make exercise), else the reference.
check: deps stepcheck-bin
	@$(SUDO) bin/stepcheck --step $(STEP) $(if $(BIN),--bin $(BIN))

diff:
	@prev=$$(printf "%02d" $$(expr $(STEP) - 1)); \
	diff -ru --exclude=README.md $$(ls -d steps/$$prev-*) $$(ls -d steps/$(STEP)-*) || true

fmt:
	gofmt -l -w .

clean:
	rm -rf bin
	$(if $(wildcard $(ROOTFS)),$(SUDO) rm -rf $(ROOTFS))

-include $(filter-out mk/defaults.mk,$(wildcard mk/*.mk))
