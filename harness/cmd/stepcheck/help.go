package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// errHelp is parseArgs' answer to -h or --help: print the help, exit 0.
type errHelp struct{ fs *flag.FlagSet }

func (errHelp) Error() string { return "help requested" }

const helpText = `stepcheck checks a container runtime against a step of the stepbox course:
it runs the checks of that step and of every earlier one, and prints one
line a check (PASS, or FAIL with what it expected, what it saw and a hint).

The binary can be written in any language. It must follow the contract in
the README ("The contract every step follows"): BIN run [flags] CMD [ARG...],
and it is run in a fresh working directory where ./rootfs is the rootfs.

  stepcheck --step 04 --bin ./mycontainer     check your binary against step 04
  stepcheck --step 04 --hint --bin ./mycontainer
                                              the next hint for its first failing check
  stepcheck --step 04                         check your copy in workspace/ (make exercise)
  stepcheck --progress                        every copy in workspace/: steps x checks

Needs root (namespaces, cgroups, mounts). Exit status: 0 every check
passes, 1 a check fails or the checks cannot run, 2 a usage error.

Flags:
`

func (h errHelp) print(w io.Writer) {
	fmt.Fprint(w, helpText)
	h.fs.SetOutput(w)
	h.fs.PrintDefaults()
}

// hintCommand is the command that gives the next hint for the binary
// just checked: with --bin, stepcheck itself, so the hints are for that
// binary and not for the workspace copy `make hint` would check.
func hintCommand(o options) string {
	if o.bin == "" {
		return fmt.Sprintf("make hint STEP=%02d", o.step)
	}
	return fmt.Sprintf("stepcheck --step %02d --hint --bin %s", o.step, o.bin)
}

// hintKey is where the hint level for a failing check is kept: by step
// and check for the workspace copy, and by binary too with --bin, so two
// binaries checked against one step do not share their hints' position.
func hintKey(o options, id string) string {
	if o.bin == "" {
		return fmt.Sprintf("%02d %s", o.step, id)
	}
	bin, err := filepath.Abs(o.bin)
	if err != nil {
		bin = o.bin
	}
	return fmt.Sprintf("%02d %s %s", o.step, id, bin)
}

// privilegeRemedy turns the harness's not-root line into stepcheck's own:
// the remedy is this command again under sudo, not the course's tests.
func privilegeRemedy(problem string, args []string) string {
	if os.Geteuid() == 0 {
		return problem
	}
	return "needs root to create namespaces and cgroups: run `sudo " +
		strings.Join(append([]string{os.Args[0]}, args...), " ") + "`"
}
