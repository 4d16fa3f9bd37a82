# make bench: container start-to-exit latency of every step beside chroot,
# util-linux unshare, runc and crun (when installed), interleaved in one
# run; plus memory and throughput. Needs root. See docs/bench.md.
# Pass options with BENCH_FLAGS, e.g. make bench BENCH_FLAGS="--iterations 50".
BENCH_FLAGS ?=
BENCH_OUT ?= bench-out

.PHONY: bench
bench:
	@mkdir -p $(BENCH_OUT)
	$(GO) build -o $(BENCH_OUT)/bench ./harness/cmd/bench
	timeout 1800 $(BENCH_OUT)/bench --out $(BENCH_OUT)/bench.json --png $(BENCH_OUT)/bench.png $(BENCH_FLAGS)
