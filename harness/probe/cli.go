package probe

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Main is the probe's command line, run as a container's command:
//
//	probe report [--look PATH]... [--read PATH]... [--burn DURATION] [--pause]
//	             [--writable PATH]... [--create PATH]... [--connect ADDR]... [--serve ADDR]
//	             [--peek PATH]... [--attacks]
//	probe args ARG...   print the arguments it got, as a JSON array
//	probe cat           copy stdin to stdout
//	probe exit N        exit with status N
//
// harness/cmd/probe is this alone; stepcheck runs it too when it is
// started under the name probe, so one static stepcheck binary is also
// the probe it puts in the rootfs.
func Main() {
	recordStart() // first: before anything opens a file
	if len(os.Args) < 2 {
		fail(2, "usage: probe report|args|cat|exit ...")
	}
	switch os.Args[1] {
	case "report":
		report(os.Args[2:])
	case "args":
		printJSON(os.Args[2:])
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			fail(1, "probe cat: %v", err)
		}
	case "exit":
		code, err := strconv.Atoi(strings.Join(os.Args[2:], ""))
		if err != nil {
			fail(2, "probe exit: want one number, got %q", os.Args[2:])
		}
		os.Exit(code)
	default:
		fail(2, "probe: unknown mode %q", os.Args[1])
	}
}

type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(s string) error { *p = append(*p, s); return nil }

func report(args []string) {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	var opts Options
	fs.Var((*pathList)(&opts.Look), "look", "report whether PATH exists")
	fs.Var((*pathList)(&opts.Read), "read", "report the content of PATH")
	fs.DurationVar(&opts.Burn, "burn", 0, "spin on every CPU this long")
	fs.Var((*pathList)(&opts.Writable), "writable", "report whether PATH opens for writing")
	fs.Var((*pathList)(&opts.Create), "create", "create the new file PATH")
	fs.Var((*pathList)(&opts.Connect), "connect", "exchange a token over TCP with ADDR")
	securityFlags(fs, &opts)
	serve := fs.String("serve", "", "answer --connect on ADDR (e.g. :7000) until the probe exits")
	pause := fs.Bool("pause", false, "after the report, wait for stdin to close")
	if err := fs.Parse(args); err != nil {
		os.Exit(2)
	}
	if *serve != "" {
		// Listen before reporting, so whoever reads the report can connect.
		if err := Serve(*serve); err != nil {
			fail(1, "probe --serve: %v", err)
		}
	}
	r := Collect(opts)
	r.Serving = *serve
	printJSON(r)
	if *pause {
		// The harness inspects the container from the host side while the
		// probe waits, then closes stdin to let it exit.
		_, _ = io.Copy(io.Discard, os.Stdin)
	}
}

func printJSON(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		fail(1, "probe: %v", err)
	}
	fmt.Printf("%s\n", data)
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(code)
}

// securityFlags are report's flags for step 10: --peek PATH reads the
// start of a (masked) path, --attacks runs the attacks of
// harness/probe/attacks.go.
func securityFlags(fs *flag.FlagSet, opts *Options) {
	fs.Var((*pathList)(&opts.Peek), "peek", "report what PATH reads: empty, read N bytes, absent or the error")
	fs.BoolVar(&opts.Attacks, "attacks", false, "run step 10's attacks and report how each ended")
	fs.StringVar(&opts.Escape, "escape", "", "last, hunt for the host file PATH under every mount and by climbing out of a chroot")
}
