// Command mkrootfs writes the course's default root filesystem: a static
// busybox from the host with a link for every applet, and the probe. It
// needs no network: `make rootfs` runs it.
//
//	mkrootfs [-o DIR]   (default ./rootfs)
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/stepbox/stepbox/harness/engine"
)

func main() {
	out := flag.String("o", "rootfs", "where to write the root filesystem (must not exist)")
	flag.Parse()
	err := run(*out)
	_ = engine.RemoveBuilds()
	if err != nil {
		fmt.Fprintf(os.Stderr, "mkrootfs: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("rootfs ready in %s\n", *out)
}

func run(out string) error {
	busybox, err := engine.FindBusybox()
	if err != nil {
		return err
	}
	probe, err := engine.BuildProbe()
	if err != nil {
		return err
	}
	return engine.MakeRootfs(out, busybox, probe)
}
