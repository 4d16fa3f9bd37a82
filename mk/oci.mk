# make oci-conformance: the OCI runtime-tools validation suite (v0.9.0,
# 58 programs) against step 11, runc and crun in one run; prints the
# table, rewrites it in steps/11-oci/README.md, and fails when step 11
# passes fewer tests than recorded in OCI_FLOOR. Needs root (sudo).
#
# The suite is built once into OCI_TOOLS from the Go module proxy, in
# tools/ (a module of its own, so the course's go.mod stays clean), and
# rebuilt only when tools/go.mod or tools/go.sum change.
#
#   make oci-conformance                    build (once), run, check the floor
#   make oci-conformance OCI_FLAGS='--only linux_sysctl --runtimes step-11'
#   make oci-conformance-record             run, and record step 11's count as the floor
#   make oci-tools                          only build the suite

OCI_TOOLS ?= bin/oci-tools
OCI_FLOOR ?= harness/cmd/ociconformance/floor.txt
OCI_LOG ?= $(OCI_TOOLS)/last-run.log
OCI_FLAGS ?=
OCI_SUITE := github.com/opencontainers/runtime-tools

.PHONY: oci-conformance oci-conformance-record oci-tools

oci-tools: $(OCI_TOOLS)/.built

# Static: runtimetest runs inside the suite's busybox rootfs.
$(OCI_TOOLS)/.built: tools/go.mod tools/go.sum
	@mkdir -p $(OCI_TOOLS)
	cd tools && CGO_ENABLED=0 $(GO) build -o $(abspath $(OCI_TOOLS))/ tool
	cp "$$(cd tools && $(GO) list -m -f '{{.Dir}}' $(OCI_SUITE))/rootfs-$$($(GO) env GOARCH).tar.gz" $(OCI_TOOLS)/
	@touch $@

oci-conformance: deps oci-tools
	$(SUDO) $(GO) run ./harness/cmd/ociconformance --tools $(OCI_TOOLS) --floor $(OCI_FLOOR) --log $(OCI_LOG) $(OCI_FLAGS)

oci-conformance-record: deps oci-tools
	$(SUDO) $(GO) run ./harness/cmd/ociconformance --tools $(OCI_TOOLS) --floor $(OCI_FLOOR) --record --log $(OCI_LOG) $(OCI_FLAGS)
