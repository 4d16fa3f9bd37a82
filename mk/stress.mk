# make stress: the long robustness tests, also run by CI.
#   - 200 runs of step 05 at concurrency 8 (harness/stress_test.go, -tags stress),
#     then the fault and bad-input tests again, all under the host guard;
#   - 1000 `run --bundle` in a row on runc, crun and step 11
#     (harness/oci/stress_test.go): a fault that one run in a hundred
#     shows (step 11 killed by its own delete, before a1c47b6) needs them.
#     One package at a time (-p 1, as make test): each holds a host guard,
#     and the other's cgroups would show in it;
#   - every fuzz target for FUZZTIME each: the step CLI's flag parsing and
#     the probe's report, mountinfo and cgroup-file parsers.
# FUZZTIME is a count of runs (250000x: 10 to 25 s a target here), not a
# duration: with a duration, Go's fuzzing coordinator can report its own
# deadline as a failure ("context deadline exceeded", no input written) on a
# loaded machine, a race in Go itself (golang/go#75804, fixed in Go 1.27).
# A count has no deadline, so a loaded machine only makes it slower.
# Needs root for the first part (uses sudo like make test).
FUZZTIME ?= 250000x
STRESS_FUZZ := ./steps/05-cgroups:FuzzParseRun \
	./harness/probe:FuzzParseMountinfo \
	./harness/probe:FuzzParseCgroupFile \
	./harness/probe:FuzzParseReport

.PHONY: stress
stress: deps
	$(GO) test -count=1 -p 1 -tags stress -timeout 20m $(if $(SUDO),-exec '$(SUDO)') -run 'TestStress|TestFault|TestBadInvocations' ./harness/ ./harness/oci/
	@set -e; for target in $(STRESS_FUZZ); do \
		pkg=$${target%%:*}; fuzz=$${target##*:}; \
		echo "fuzz $$fuzz in $$pkg, $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fuzz\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
