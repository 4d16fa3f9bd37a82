# The learner's loop, on your own copy of a step in workspace/ (which git
# ignores; it is a Go package inside the module, so it builds with the
# module's dependencies):
#
#   make exercise STEP=04   your copy of step 04: step 03's solution with TODO(04)s
#   make check STEP=04      check your copy (BIN=path checks any binary instead)
#   make hint STEP=04       the next hint for the first failing check
#   make solution STEP=04   the reference solution, as a diff against your copy
#   make progress           every copy, checked now: a table of steps x checks
#
# Included by the root Makefile, which has `check`. The checks need root:
# hint and progress call sudo themselves, like check.

.PHONY: exercise hint solution progress stepcheck-bin

exercise:
	@mkdir -p bin
	@$(GO) build -o bin/exercise ./harness/cmd/exercise
	@bin/exercise --step $(STEP)

stepcheck-bin:
	@mkdir -p bin
	@CGO_ENABLED=0 $(GO) build -o bin/stepcheck ./harness/cmd/stepcheck

hint: deps stepcheck-bin
	@$(SUDO) bin/stepcheck --step $(STEP) --hint $(if $(BIN),--bin $(BIN))

progress: deps stepcheck-bin
	@$(SUDO) bin/stepcheck --progress

# Lines starting with + are the reference's, - are yours. README.md and
# tests are left out: your copy has neither.
solution:
	@ref=$$(ls -d steps/$(STEP)-* 2>/dev/null); mine=$$(ls -d workspace/$(STEP)-* 2>/dev/null); \
	if [ -z "$$ref" ]; then echo "solution: no step $(STEP) in steps/ (STEP is two digits, like 04)" >&2; exit 2; fi; \
	if [ -z "$$mine" ]; then echo "solution: no copy of step $(STEP) in workspace/: make exercise STEP=$(STEP) makes one" >&2; exit 2; fi; \
	diff -ruN -x README.md -x '*_test.go' "$$mine" "$$ref" || true
