// Command vagrant builds, on the host, everything the Vagrant backend
// copies into the guest: one static test binary per test package and the
// prebuilt step, probe and mutant binaries the harness looks up in
// $STEPBOX_PREBUILT, so nothing compiles inside the VM (which may be
// running under software emulation). It reuses the QEMU backend's build.
//
//	go run ./harness/vm/vagrant --arch amd64 --out DIR
//
// DIR then holds tests/*.test, prebuilt/, tests.txt, one line per test
// package in run order: "PACKAGE<TAB>tests/FILE.test", and mutants.txt,
// one line per known-bad program: "CHECK<TAB>PACKAGE<TAB>step-NN<TAB>
// mutant-CHECK" (what `vm.sh broken CHECK` swaps in). vagrant/vm.sh
// copies DIR into the guest and runs each binary in its package folder.
//
// --arch is the guest's GOARCH; vm.sh reads it from the running guest
// (uname -m), never from the host.
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
	"github.com/stepbox/stepbox/harness/engine"
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
	if arch != "amd64" && arch != "arm64" {
		return fmt.Errorf("guest architecture %s: only amd64 and arm64 guests are supported", arch)
	}
	root, err := engine.ModuleRoot()
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
	built, err := qemu.BuildAll(root, out, arch)
	if err != nil {
		return err
	}
	// The guest runs the suite over ssh; it needs no init of its own.
	if err := os.Remove(built.Init); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "tests.txt"), []byte(testList(out, built.Tests)), 0o644); err != nil {
		return err
	}
	mutants, err := mutantList(root, harness.Mutants)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "mutants.txt"), []byte(mutants), 0o644)
}

// mutantList is mutants.txt: for each known-bad program, the check that
// must reject it, its step's package, and the binary names the guest
// swaps (the step's, the mutant's), all in prebuilt/.
func mutantList(root string, mutants []harness.Mutant) (string, error) {
	var b strings.Builder
	for _, m := range mutants {
		dir, err := engine.StepDir(root, m.Step)
		if err != nil {
			return "", fmt.Errorf("mutant for %s: %w", m.Check, err)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", m.Check, filepath.ToSlash(dir), engine.StepBinaryName(m.Step), harness.MutantName(m))
	}
	return b.String(), nil
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
