package harness

import (
	"fmt"
)

// Step 02: UTS namespace.
var step02 = Step{
	N: 2,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: `the container gets a hostname of its own: accept --hostname NAME (default "container", 1 to 64 bytes, or exit 2), and hand it on to the child.`},
		{Anchor: "cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr", After: true,
			Text: "start the child in a UTS namespace of its own, so that a hostname set inside can never rename the host."},
		{Anchor: "func setupContainer(cfg config) error {", After: true,
			Text: "set the container's hostname to the --hostname value before the command runs."},
	},
	Checks: []Check{
		{
			ID: "uts.hostname", Step: 2,
			Proves: "the container has the hostname given by --hostname",
			Hints: [...]string{
				"The command inside must see the --hostname value as its hostname. Does run accept the flag, hand it to the child, and does the child set it before the command starts?",
				"unix.Sethostname([]byte(name)) in the child, after the new UTS namespace exists and before exec.",
				"Setting the hostname in the parent changes the host's (the parent is not in the new namespace); the child must do it.",
			},
			Mutants: []Mutant{
				{"uts.hostname", 2, "ignores --hostname",
					[]Edit{dropCall("setHostname(cfg.hostname)")}},
			},
			Run: checkHostname,
		},
		{
			ID: "uts.ns_new", Step: 2,
			Proves: "the container has its own UTS namespace",
			Hints: [...]string{
				"/proc/self/ns/uts inside the container must differ from the host's: the child has to be born in a namespace of its own.",
				"Set cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS} on the child's exec.Cmd: clone(2) then creates the namespace.",
				"The article's Cloneflags line ends with a Chinese comma (`、`) and does not compile; and unshare(2) called from Go affects only one thread of the runtime, so use Cloneflags.",
			},
			Mutants: []Mutant{
				{"uts.ns_new", 2, "forgets CLONE_NEWUTS",
					[]Edit{{"Cloneflags: unix.CLONE_NEWUTS,", "Cloneflags: 0,", ""}}},
			},
			Run: newNamespace("uts"),
		},
		{
			ID: "uts.host_unchanged", Step: 2,
			Proves: "the hostname outside the container does not change",
			Hints: [...]string{
				"After the run, the host's hostname must be what it was. Which namespace was the hostname set in?",
				"Without unix.CLONE_NEWUTS in Cloneflags, sethostname(2) in the child renames the host; add it.",
				"Outside the harness's sandbox this renames your machine: if it happened, `sudo hostname OLDNAME`. Never test this bug outside the sandbox or a VM.",
			},
			Mutants: []Mutant{
				{"uts.host_unchanged", 2, "forgets CLONE_NEWUTS, so sethostname renames the machine around it",
					[]Edit{{"Cloneflags: unix.CLONE_NEWUTS,", "Cloneflags: 0,", ""}}},
			},
			Run: checkHostUnchanged,
		},
	},
}

func checkHostname(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	if res.Report.Hostname != e.Hostname() {
		return fail(fmt.Sprintf("hostname %q inside", e.Hostname()), "%q", res.Report.Hostname)
	}
	return pass()
}

func checkHostUnchanged(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	w := res.Witness
	if w.Before.Hostname != w.After.Hostname {
		return fail(fmt.Sprintf("the hostname outside to stay %q", w.Before.Hostname), "%q after the run", w.After.Hostname)
	}
	return pass()
}
