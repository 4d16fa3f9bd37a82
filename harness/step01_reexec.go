package harness

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 01: re-exec through /proc/self/exe.
var step01 = Step{
	N: 1,
	Checks: []Check{
		{
			ID: "cli.args", Step: 1,
			Proves: "the command gets its arguments, flag-like ones included",
			Hints: [...]string{
				"The command must get exactly the arguments typed after it, including ones that look like flags (-c, --flag) and empty ones. Follow them from run's command line, through the child's, to the command.",
				"Stop flag parsing at the command (flag.FlagSet.Parse stops at the first non-flag) and pass flags.Args() on; when rebuilding the child's command line, put \"--\" before the command.",
				"The article hands the child os.Args[2:] and lets the child parse them again: without \"--\", a command like `sh -c ...` loses its -c to the child's flag parsing.",
			},
			Mutants: []Mutant{
				{"cli.args", 1, "passes only the command name to the child, not its arguments",
					[]Edit{{"return append(args, cfg.command...)", "return append(args, cfg.command[0])", ""}}},
			},
			Run: checkArgs,
		},
		{
			ID: "cli.stdio", Step: 1,
			Proves: "stdin and stdout pass through to the command",
			Hints: [...]string{
				"The command's stdin and stdout must be the terminal's (or the pipe's) that stepbox was started with, through both processes.",
				"In the parent, set cmd.Stdin, cmd.Stdout and cmd.Stderr of the child's exec.Cmd to os.Stdin, os.Stdout and os.Stderr; exec(2) in the child keeps them.",
				"An exec.Cmd with nil Stdin reads from /dev/null and nil Stdout discards: nothing fails, the output just vanishes.",
			},
			Mutants: []Mutant{
				{"cli.stdio", 1, "does not connect the child's stdin and stdout",
					[]Edit{{"cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr", "cmd.Stderr = os.Stderr", ""}}},
			},
			Run: checkStdio,
		},
		{
			ID: "cli.exit_status", Step: 1,
			Proves: "the runtime exits with the command's exit status",
			Hints: [...]string{
				"When the command exits 7, stepbox must exit 7. Where does the parent learn how the child ended?",
				"cmd.Wait returns an *exec.ExitError for a non-zero status: take cmd.ProcessState.ExitCode(), or 128+N from the syscall.WaitStatus when signal N killed it, and os.Exit with it.",
				"The article prints `ERROR exit status 7` and exits 1, so every failure looks the same to scripts and CI.",
			},
			Mutants: []Mutant{
				{"cli.exit_status", 1, "exits 1 whenever the command fails, as the article does",
					[]Edit{{"return cmd.ProcessState.ExitCode(), nil", "return min(cmd.ProcessState.ExitCode(), 1), nil", ""}}},
			},
			Run: checkExitStatus,
		},
		{
			ID: "cli.usage", Step: 1,
			Proves: "bad usage exits 2 with a line on stderr, never a panic",
			Hints: [...]string{
				"Run the binary with no arguments, with an unknown subcommand, with `run` alone and with an unknown flag: each must print one line on stderr and exit 2.",
				"Check len(args) before reading args[0]; make the flag set flag.ContinueOnError with its output discarded, and turn its error into your own line and os.Exit(2).",
				"The article reads os.Args[1] unchecked (index out of range) and panics with `wat should I do`: a panic exits 2 too, but with a goroutine dump instead of one useful line.",
			},
			Mutants: []Mutant{
				{"cli.usage", 1, "panics on an unknown subcommand, as the article does",
					[]Edit{{`return failed(exitUsage, withUsage(fmt.Errorf("unknown subcommand %q", args[0])))`, `panic("wat should I do")`, ""}}},
			},
			Run: checkUsage,
		},
		{
			ID: "cli.not_found", Step: 1,
			Proves: "a command that does not exist exits 127 with a line naming it",
			Hints: [...]string{
				"A command that does not exist must exit 127 with one line naming it, as a shell does.",
				"Look the command up with exec.LookPath in the child before exec; on exec.ErrNotFound print one line and exit 127 (126 when it exists but cannot be executed).",
				"Letting exec(2) fail and reporting every error alike gives 125 or 1; from step 04 on, the lookup must happen in the child, after it has entered the new root.",
			},
			Mutants: []Mutant{
				{"cli.not_found", 1, "exits 125 instead of 127 when the command does not exist",
					[]Edit{{"failed(exitNotFound,", "failed(exitRuntime,", ""}}},
			},
			Run: checkNotFound,
		},
		{
			ID: "cli.exec", Step: 1,
			Proves: "the command replaces the internal child process",
			Hints: [...]string{
				"The command's parent should be the runtime (or nobody, inside a PID namespace): no extra process may sit in between.",
				"In the child, replace the process with the command: unix.Exec(path, args, os.Environ()) (execve(2)) rather than starting it.",
				"The article runs exec.Command(...).Run() in the child, so the child lingers as a middleman: the command is not PID 1 at step 03 and signals sent to the child never reach it.",
			},
			Mutants: []Mutant{
				{"cli.exec", 1, "starts the command as a grandchild with Run, as the article does, instead of exec",
					[]Edit{{"err = unix.Exec(path, command, os.Environ())",
						"_ = unix.Exec // unused now\n\tc := exec.Command(path, command[1:]...)\n\tc.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr\n\tif err = c.Run(); err == nil {\n\t\treturn 0\n\t}", ""}}},
				{"cli.exec", 3, "starts the command as a grandchild in a second PID namespace, where it is PID 1 with parent 0 and looks exec'd from inside",
					[]Edit{{"err = unix.Exec(path, command, os.Environ())",
						"_ = unix.Exec // unused now\n\tc := exec.Command(path, command[1:]...)\n\tc.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr\n\tc.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID}\n\tif err = c.Run(); err == nil {\n\t\treturn 0\n\t}", ""}}},
			},
			Run: checkExec,
		},
	},
}

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
