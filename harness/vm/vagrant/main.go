// Command vagrant builds, on the host, everything the Vagrant backend
// copies into the guest: one static test binary per test package and the
// prebuilt step, probe and mutant binaries the harness looks up in
// $STEPBOX_PREBUILT, so nothing compiles inside the VM (which may be
// running under software emulation). It reuses the QEMU backend's build.
//
//	go run ./harness/vm/vagrant --arch amd64 --out DIR
//
// DIR then holds tests/*.test, prebuilt/ and tests.txt, one line per test
// package in run order: "PACKAGE<TAB>tests/FILE.test". vagrant/vm.sh
// copies DIR into the guest and runs each binary in its package folder.
//
// Exit status: 0 built; 2 bad usage; 125 the build failed.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/vm/qemu"
)

const (
	exitUsage   = 2
	exitRuntime = 125
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("vagrant", flag.ContinueOnError)
	fs.SetOutput(stderr)
	arch := fs.String("arch", "amd64", "GOARCH of the guest (uname -m there: x86_64 is amd64, aarch64 is arm64)")
	out := fs.String("out", "", "directory to write the binaries to (required)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: vagrant --arch amd64|arm64 --out DIR")
		return exitUsage
	}
	if err := build(*arch, *out); err != nil {
		fmt.Fprintf(stderr, "vagrant: %v\n", err)
		return exitRuntime
	}
	return 0
}

// build writes the binaries and tests.txt into out.
func build(arch, out string) error {
	// The QEMU backend's build makes amd64 binaries only; an arm64 guest
	// would get programs it cannot execute.
	if arch != "amd64" {
		return fmt.Errorf("guest architecture %s: the shared build (harness/vm/qemu.BuildAll) makes amd64 binaries only so far", arch)
	}
	root, err := harness.ModuleRoot()
	if err != nil {
		return err
	}
	out, err = filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	built, err := qemu.BuildAll(root, out)
	if err != nil {
		return err
	}
	// The guest runs the suite over ssh; it needs no init of its own.
	if err := os.Remove(built.Init); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "tests.txt"), []byte(testList(out, built.Tests)), 0o644)
}

// testList is tests.txt: each package and its binary, relative to out.
func testList(out string, tests []qemu.TestPackage) string {
	var b strings.Builder
	for _, t := range tests {
		rel, err := filepath.Rel(out, t.Bin)
		if err != nil {
			rel = t.Bin
		}
		fmt.Fprintf(&b, "%s\t%s\n", t.Name, filepath.ToSlash(rel))
	}
	return b.String()
}
