package harness

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 01: the command line contract.

func checkArgs(e *Env) Outcome {
	want := []string{"one", "two words", "--flag", "-c", ""}
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: append([]string{"args"}, want...)})
	if err != nil {
		return fail("the command to run", "a harness error: %v", err)
	}
	var got []string
	if json.Unmarshal([]byte(strings.TrimSpace(res.Stdout)), &got) != nil || res.Exit != 0 {
		return fail(fmt.Sprintf("the command to print its arguments %q", want), "%s and stdout %q", res.Describe(), res.Stdout)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		return fail(fmt.Sprintf("arguments %q", want), "%q", got)
	}
	return pass()
}

func checkStdio(e *Env) Outcome {
	input := "stdin reaches the container " + engine.RandomHex(4) + "\n"
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: []string{"cat"}, Stdin: input})
	if err != nil {
		return fail("the command to run", "a harness error: %v", err)
	}
	if res.Stdout != input {
		return fail(fmt.Sprintf("stdout %q copied from stdin", input), "stdout %q (%s)", res.Stdout, res.Describe())
	}
	return pass()
}

func checkExitStatus(e *Env) Outcome {
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: []string{"exit", "7"}})
	if err != nil {
		return fail("the command to run", "a harness error: %v", err)
	}
	if res.Exit != 7 {
		return fail("exit status 7, the command's own", "%s", res.Describe())
	}
	return pass()
}

func checkUsage(e *Env) Outcome {
	cases := [][]string{{}, {"bogus"}, {"run"}, {"run", "--no-such-flag", "/bin/true"}}
	for _, argv := range cases {
		res, err := e.Run(engine.Invocation{Argv: argv})
		if err != nil {
			return fail("the binary to run", "a harness error: %v", err)
		}
		if res.Exit != 2 || strings.TrimSpace(res.Stderr) == "" || hasPanic(res.Stderr) {
			return fail("exit status 2 and a usage line on stderr", "%s", res.Describe())
		}
	}
	return pass()
}

func checkNotFound(e *Env) Outcome {
	name := "stepbox-no-such-command"
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Cmd: []string{name}})
	if err != nil {
		return fail("the binary to run", "a harness error: %v", err)
	}
	if res.Exit != 127 || !strings.Contains(res.Stderr, name) || hasPanic(res.Stderr) {
		return fail(fmt.Sprintf("exit status 127 and a line naming %q", name), "%s", res.Describe())
	}
	return pass()
}

// checkExec: when the child execs the command, the command's parent is the
// runtime's parent process (or, in a new PID namespace, nobody: PID 0).
func checkExec(e *Env) Outcome {
	var seen hostProcess
	res, err := e.Run(engine.Invocation{
		Flags: e.RunFlags(),
		Probe: []string{"report", "--pause"},
		Hold:  func(r *probe.Report) { seen = findOnHost(r) },
	})
	if err != nil {
		return fail("the probe to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return fail("the probe's report on stdout", "none: %s", res.Describe())
	}
	runtime := res.Witness.BinPID
	switch {
	case seen.err != nil:
		return fail("a look at the command from the host", "%v", seen.err)
	case seen.pid == runtime:
		return pass() // the runtime became the command itself: nothing lingers
	case seen.ppid != runtime:
		// Seen from the host, so a second PID namespace in between
		// (where the command is PID 1 with parent 0) cannot hide it.
		return fail(fmt.Sprintf("the command's parent to be the runtime (PID %d)", runtime),
			"parent PID %d: another process sits in between", seen.ppid)
	}
	return pass()
}
