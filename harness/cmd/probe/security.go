package main

import (
	"flag"

	"github.com/stepbox/stepbox/harness/probe"
)

// securityFlags are report's flags for step 10: --peek PATH reads the
// start of a (masked) path, --attacks runs the attacks of
// harness/probe/attacks.go.
func securityFlags(fs *flag.FlagSet, opts *probe.Options) {
	fs.Var((*pathList)(&opts.Peek), "peek", "report what PATH reads: empty, read N bytes, absent or the error")
	fs.BoolVar(&opts.Attacks, "attacks", false, "run step 10's attacks and report how each ended")
}
