//go:build linux

package main

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

// FuzzParseRun feeds the run command line arbitrary arguments. parseRun
// must never panic; what it accepts must be a valid config; and the
// child, parsing childArgs, must arrive at the same config as the parent.
func FuzzParseRun(f *testing.F) {
	for _, seed := range []string{
		"/bin/true",
		"--cpus 0.5 --hostname box --rootfs /tmp/r /bin/sh -c echo",
		"--cpus=-1 x",
		"--cpus 1e300 x",
		"--cpus NaN x",
		"--hostname= x",
		"-- --cpus 2",
		"--rootfs",
		"/bin/echo --cpus 3 -x --",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, " ")
		cfg, err := parseRun(args)
		if err != nil {
			return
		}
		if len(cfg.command) == 0 || cfg.hostname == "" || len(cfg.hostname) > 64 {
			t.Fatalf("accepted %q as %+v", args, cfg)
		}
		if cfg.cpus < 0.01 || cfg.cpus > float64(runtime.NumCPU()) {
			t.Fatalf("accepted --cpus %v from %q", cfg.cpus, args)
		}
		again, err := parseRun(childArgs(cfg)[1:])
		if err != nil {
			t.Fatalf("the child rejects what the parent accepted: %q: %v", args, err)
		}
		if again.rootfs != cfg.rootfs || again.hostname != cfg.hostname || again.cpus != cfg.cpus || !slices.Equal(again.command, cfg.command) {
			t.Fatalf("parent and child disagree: %+v vs %+v", cfg, again)
		}
	})
}
