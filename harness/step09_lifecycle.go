package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 09: lifecycle: ids, state, run -d, ps, logs, exec, stop, kill, rm, and an init.
var step09 = Step{
	N: 9,
	Todos: []Todo{
		{Anchor: "flags.SetOutput(io.Discard)", After: true,
			Text: "accept -d (run in the background: print the container's id and return once the command runs, its output going to a log in the container's directory; kept until rm unless --rm is given) and --init (default true: PID 1 is a tiny init, the command its child)."},
		{Anchor: "func dispatch(args []string) int {", After: true,
			Text: "new subcommands, each with --state-dir: ps (every container: id, PID, status, age, command), logs [-f] ID (-f: follow until the container ends), exec [-t] ID CMD [ARG...] (run a command inside a running container, with this terminal's stdio, exiting with its status; -t: on a pty of its own, this terminal raw, its size followed), stop [-t SECONDS] ID (SIGTERM, a grace period, then SIGKILL), kill ID [SIGNAL], rm [-f] ID (a running container only with -f; nothing left behind). An unknown id: one line, 125; a bad signal name: 2."},
		{Anchor: "func runContainer(cfg config) (status int, err error) {", After: true,
			Text: "record the container on disk, in its directory, so that other invocations can find it: as it is created, once it runs (its PID, cgroup, network, and which runtime waits for it) and once it has ended and been cleaned up. A runtime that is killed must leave enough behind for ps to call the container stopped and for rm to clean up."},
		{Anchor: "return execCommand(cfg.command)",
			Text: "with --init, stay as PID 1 instead: start the command as a child, pass the usual signals on to it, reap every child that exits (orphans too), and exit with the command's status. exec will need a way to start commands in here."},
	},
	Checks: []Check{
		{
			ID: "life.detached", Step: 9,
			Proves: "`run -d` prints the container's id and returns at once, while the container keeps running",
			Hints: [...]string{
				"After `run -d` prints the id and exits, the container must go on running, with its output in a log: who is its parent now, and what ties its life to the command that started it?",
				"Start /proc/self/exe run again without -d (an internal flag) with Setsid, stdin/stdout/stderr on /dev/null and the container's output in STATE/containers/ID/log; wait on a pipe for \"started ID\" or an error line, then exit.",
				"Pdeathsig on the background runtime (or running the container from the launcher itself) kills the container the moment run -d returns; forgetting Setsid lets the terminal's Ctrl-C and hangup reach it.",
			},
			Mutants: []Mutant{
				{"life.detached", 9, "ties the background runtime to the launcher with Pdeathsig, so the container dies when run -d returns",
					[]Edit{{"cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}", "cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}", "detach.go"}}},
			},
			Run: checkDetached,
		},
		{
			ID: "life.ps", Step: 9,
			Proves: "`ps` lists a running detached container: its id, PID, the status running and its command",
			Hints: [...]string{
				"ps runs as a separate process, long after run: everything it shows must be on disk. What does run write, and when?",
				"Write STATE/containers/ID/state.json (id, command, created, PID, status) when the container starts and again when it ends; write it to a temporary file and rename(2) it into place, so ps never reads half a file.",
				"A state written only once, before the child starts, says \"created\" forever; a PID alone is not enough to call a container running: PIDs are reused, so record the runtime's start time (field 22 of /proc/PID/stat) too.",
			},
			Mutants: []Mutant{
				{"life.ps", 9, "never records that the container started (no PID, status stays created)",
					[]Edit{dropCall("h.state.running(cmd.Process.Pid, h.cgroup.dir, h.network.hostEnd)")}},
			},
			Run: checkPs,
		},
		{
			ID: "life.exec", Step: 9,
			Proves: "a command run by `exec ID` is inside the container (its hostname, namespaces and files), uses exec's stdin and stdout, and exec exits with its status",
			Hints: [...]string{
				"exec must run the command in the container's namespaces, root and cgroup, with the user's stdin and stdout. Which process already has all of that?",
				"setns(2) into a user or mount namespace needs a single-threaded caller, which a Go program never is: let the init serve a unix socket (its listening fd passed down by the parent), receive the command with its three fds (SCM_RIGHTS, unix.ParseUnixRights) and ForkExec it with Files set to them.",
				"Starting the command with the init's own stdio sends its output to the container's log, not to exec's caller; answer with the exit status only once the reaper has waited for it.",
			},
			Mutants: []Mutant{
				{"life.exec", 9, "starts exec's command with the init's own stdio instead of the files exec sent",
					[]Edit{{"pid, err := startProcess(path, req.Command, files, execSession(req.TTY))", "pid, err := startProcess(path, req.Command, []uintptr{0, 1, 2}, execSession(req.TTY))", "exec.go"}}},
			},
			Run: checkExecInside,
		},
		{
			ID: "life.exec_tty", Step: 9,
			Proves: "`exec -t` gives the command a pty of its own: a session leader with it as controlling terminal, the client's window size, followed on SIGWINCH, and Ctrl-C typed reaches the command as SIGINT (exit 130) while the container runs on",
			Hints: [...]string{
				"With -t the command needs a terminal of its own, not exec's pipes or exec's terminal: where does a new terminal come from, whose terminal must it be, and who turns Ctrl-C into SIGINT?",
				"Open /dev/ptmx (unlock it with TIOCSPTLCK, name its slave with TIOCGPTN), send the slave as the command's three fds, start it with Setsid and Setctty (TIOCSCTTY); put exec's own terminal in raw mode (TCSETS), copy stdin to the master and the master to stdout, and copy the size (TIOCGWINSZ, TIOCSWINSZ) at the start and on each SIGWINCH.",
				"Without setsid and TIOCSCTTY the pty is nobody's controlling terminal, so the 0x03 of Ctrl-C is just a byte; without raw mode exec's own terminal turns Ctrl-C into a SIGINT for exec; a size set once and never again leaves full-screen programs drawing at the old size.",
			},
			Mutants: []Mutant{
				{"life.exec_tty", 9, "ignores -t: the command gets exec's own stdio, no pty of its own",
					[]Edit{{"return execWithTerminal(st, cfg.args[1:]) // tty.go", "_ = execWithTerminal // tty.go", "exec.go"}}},
				{"life.exec_tty", 9, "starts the command in a session of its own but never makes the pty its controlling terminal",
					[]Edit{{"return &syscall.SysProcAttr{Setsid: true, Setctty: tty}", "return &syscall.SysProcAttr{Setsid: true, Setctty: tty && false}", "exec.go"}}},
				{"life.exec_tty", 9, "never sets the pty's size",
					[]Edit{{"_ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws)", "_, _ = fd, ws", "tty.go"}}},
				{"life.exec_tty", 9, "sets the pty's size at the start, then ignores SIGWINCH",
					[]Edit{{"signal.Notify(winch, unix.SIGWINCH)", "_ = unix.SIGWINCH", "tty.go"}}},
			},
			Run: checkExecTTY,
		},
		{
			ID: "life.logs_follow", Step: 9,
			Proves: "`logs -f` prints the log so far, then the lines written after it started, and exits 0 by itself soon after the container ends",
			Hints: [...]string{
				"logs -f must keep printing what the container writes after it started, and know when to stop: what tells it the container has ended?",
				"After copying the log, loop: copy whatever is new (a read at the end of the file returns 0 bytes at once), then read state.json as ps does; once it says exited, its runtime is gone or the directory is gone, copy the rest and exit 0. Sleep a little between rounds (or wait with inotify).",
				"Stopping at the end of the file is plain logs; waiting for more bytes without ever looking at the state follows a dead container forever; deciding it ended after the last copy loses what it wrote just before the end.",
			},
			Mutants: []Mutant{
				{"life.logs_follow", 9, "ignores -f: prints the log so far and exits",
					[]Edit{{"if err == nil && follow {", "if err == nil && follow && false {", "commands.go"}}},
				{"life.logs_follow", 9, "follows forever: never notices that the container ended",
					[]Edit{{"if ended {", "if ended && false {", "logs.go"}}},
			},
			Run: checkLogsFollow,
		},
		{
			ID: "life.stop_graceful", Step: 9,
			Proves: "`stop` sends SIGTERM first: a command that handles it ends by its own handler",
			Hints: [...]string{
				"A container that handles SIGTERM must get the chance to shut down cleanly: what does stop send first?",
				"kill(PID 1 of the container, SIGTERM); then poll the state until the runtime records the end, for up to the grace period (-t, default 10s).",
				"From outside, a namespace's PID 1 gets only the signals it handles: a bare sleep as PID 1 ignores SIGTERM, which is one reason for the init; SIGKILL first gives the command no chance to save anything.",
			},
			Mutants: []Mutant{
				{"life.stop_graceful", 9, "stops with SIGKILL straight away, no SIGTERM",
					[]Edit{{"if err := st.signal(unix.SIGTERM); err != nil {", "if err := st.signal(unix.SIGKILL); err != nil {", "commands.go"}}},
			},
			Run: checkStopGraceful,
		},
		{
			ID: "life.stop_kill", Step: 9,
			Proves: "`stop -t N` kills a command that ignores SIGTERM once the grace period is over, not before",
			Hints: [...]string{
				"A command that ignores SIGTERM must still stop, but only after the grace period: what comes after the wait?",
				"If the state still says running after the grace period, kill(PID 1, SIGKILL): the kernel then kills every process of its PID namespace; wait again until the runtime records the end.",
				"Returning after the grace period without SIGKILL leaves the container running; sending SIGKILL at once (or with a grace of 0 by mistake) kills commands that would have ended cleanly.",
			},
			Mutants: []Mutant{
				{"life.stop_kill", 9, "never escalates to SIGKILL after the grace period",
					[]Edit{{"if st.waitEnded(grace) {", "if st.waitEnded(grace) || true {", "commands.go"}}},
			},
			Run: checkStopKill,
		},
		{
			ID: "life.reap", Step: 9,
			Proves: "the init reaps orphaned grandchildren: no zombie is left",
			Hints: [...]string{
				"When a process's parent exits first, who becomes its parent inside the container, and who must wait for it?",
				"Orphans are re-parented to the namespace's PID 1: the init must call wait4(-1, &status, 0, nil) in a loop, taking any child, and recognise the command's PID among them.",
				"Waiting only for the command (cmd.Wait, or wait4 on its PID) leaves every orphan a zombie until the container ends; a bare command as PID 1 (--init=false) rarely reaps either.",
			},
			Mutants: []Mutant{
				{"life.reap", 9, "the init waits for the command alone, never for orphans",
					[]Edit{{"unix.Wait4(-1, &ws, 0, nil)", "unix.Wait4(in.main, &ws, 0, nil)", "init.go"}}},
			},
			Run: checkReap,
		},
		{
			ID: "life.init_signals", Step: 9,
			Proves: "with the init (the default) the command is PID 1's child, a signal sent to the runtime reaches it, and the runtime exits with its status",
			Hints: [...]string{
				"With the init as PID 1, a signal sent to the container goes to the init: how does the command get it, and how does the runtime learn how the command ended?",
				"signal.Notify(ch, SIGTERM, SIGINT, SIGHUP, ...) in the init and unix.Kill(commandPID, sig) for each; from the command's wait status return ExitStatus(), or 128+Signal() if a signal ended it.",
				"An init that catches signals without passing them on makes the container deaf: stop then always waits out the grace period. PID 1 cannot re-raise the command's signal on itself (it would be ignored): exit 128+N.",
			},
			Mutants: []Mutant{
				{"life.init_signals", 9, "the init catches signals but never forwards them to the command",
					[]Edit{{"go in.forwardSignals(signals)", "_ = in.forwardSignals", "init.go"}}},
			},
			Run: checkInitSignals,
		},
		{
			ID: "life.rm_clean", Step: 9,
			Proves: "after `stop` and `rm` nothing of the container is left: cgroup, mounts, network, state, log, writable layer, ps line",
			Hints: [...]string{
				"After rm, nothing of the container may remain on the host: list what run created for it, and who removes each piece.",
				"The runtime removes the cgroup (rmdir) and its published ports' rules when the container ends (the kernel removes the veth pair with the container's network namespace; the bridge is kept); rm removes STATE/containers/ID with os.RemoveAll: state.json, the log, the upper and work directories.",
				"Removing only state.json hides the container from ps but leaves its writable layer and log filling the disk; an overlay mounted in the container's own mount namespace needs no unmount on the host.",
			},
			Mutants: []Mutant{
				{"life.rm_clean", 9, "rm forgets the container's directory (state, log, writable layer)",
					[]Edit{{"return (&layer{id: st.ID, dir: st.dir}).remove()", "return nil", "commands.go"}}},
			},
			Run: checkRmClean,
		},
		{
			ID: "life.rm_detached", Step: 9,
			Proves: "`run -d --rm` removes the container when its command ends: no ps line, no state directory, no cgroup, mount or network left",
			Hints: [...]string{
				"run -d keeps a container until rm, as docker does; with --rm it must go by itself when it ends, as a foreground --rm one does: who is there when it ends?",
				"The background runtime waits for the container: after removing the cgroup and the network it removes STATE/containers/ID (state, log, layer) when --rm was given, instead of recording exited. A flag's default cannot tell `-d` from `-d --rm`: flag.FlagSet.Visit lists the flags actually set.",
				"With a --rm that defaults to true for the foreground, -d must not take that default (it would remove every detached container at its end, logs and all); but an explicit --rm with -d must not be ignored either.",
			},
			Mutants: []Mutant{
				{"life.rm_detached", 9, "run -d ignores --rm and keeps the container",
					[]Edit{{"if cfg.detach && !flagGiven(flags, \"rm\") {", "if cfg.detach {", "main.go"}}},
			},
			Run: checkRmDetached,
		},
		{
			ID: "life.crashed", Step: 9,
			Proves: "a runtime SIGKILLed while its container runs leaves a state `ps` shows as not running, and `rm` cleans up its cgroup, network and directory",
			Hints: [...]string{
				"If the runtime waiting for a container is SIGKILLed, nobody records the end or removes the cgroup and the network: what do ps and rm see?",
				"ps: a container is running only while the runtime its state records is alive, same PID and same start time; rm: when the state does not say exited, remove the cgroup and the network the state recorded, then the directory.",
				"kill(pid, 0) succeeds on a zombie and on a reused PID: compare the start time in /proc/PID/stat, and treat state Z as gone; without Pdeathsig the container would outlive its runtime, unsupervised.",
			},
			Mutants: []Mutant{
				{"life.crashed", 9, "rm trusts the runtime to have cleaned up, also when it crashed",
					[]Edit{{"if st.Status != \"exited\" {", "if false {", "commands.go"}}},
			},
			Run: checkCrashed,
		},
		{
			ID: "life.bad_input", Step: 9,
			Proves: "an unknown id, a bad signal name, `exec -t` without a terminal on stdin, or rm of a running container without -f: one line on stderr, exit 125 (2 for the signal), and the container runs on",
			Hints: [...]string{
				"Each lifecycle command gets an id, maybe a signal, maybe -f: every bad one must get one clear line and the documented status, and change nothing.",
				"Find the container (exact id or unique prefix; anything but hex is no id, never a path) before acting: not found is 125; parse the signal with unix.SignalNum (TERM, SIGTERM or a number), 2 if it does not parse; rm of a running container without -f is 125.",
				"Joining an unchecked id to the state directory lets `rm ../../x` remove any directory; rm of a running container must refuse without -f rather than leave a container whose directory is gone.",
			},
			Mutants: []Mutant{
				{"life.bad_input", 9, "rm removes a running container without -f",
					[]Edit{{"if st.live() && !force {", "if false && !force {", "commands.go"}}},
			},
			Run: checkLifeBadInput,
		},
	},
}

// Step 09: containers with ids and a state of their own, managed by
// separate invocations (run -d, ps, logs, exec, stop, kill, rm), and an
// init as PID 1. Most checks run several invocations in one session
// sandbox (session.go), so a detached container lives on between them.
// From step 09 every other run passes --init=false, unless it says
// otherwise: the earlier checks look at the command as PID 1.

// Session is a session sandbox (engine.Session) as the checks see it.
type Session struct{ *engine.Session }

// inSession runs a check in a session of its own, and ends the session,
// with every container in it, whatever the check found.
func (e *Env) inSession(check func(*Session) Outcome) Outcome {
	es, err := e.StartSession()
	if err != nil {
		return fail("a session sandbox to run the binary in", "a harness error: %v", err)
	}
	s := &Session{es}
	out := check(s)
	if err := s.Close(); err != nil && out.Pass {
		return fail("the session to end cleanly", "a harness error: %v", err)
	}
	return out
}

// life runs one lifecycle command (ps, logs, exec, stop, kill, rm) with
// the Env's state directory.
func (s *Session) life(command string, args ...string) (*engine.Result, Outcome) {
	res, err := s.Run(append([]string{command, "--state-dir", s.Env.StateDir()}, args...)...)
	if err != nil {
		return nil, fail("`"+command+"` to run", "a harness error: %v", err)
	}
	return res, pass()
}

// idPattern is what a container id printed by run -d looks like.
var idPattern = regexp.MustCompile(`^[0-9a-zA-Z_.-]{1,64}$`)

// detach starts a detached container running script with sh, with the
// init (the default), and returns its id.
func (s *Session) detach(script string) (string, Outcome) {
	return s.detachWith(nil, script)
}

// detachWith is detach with more run flags.
func (s *Session) detachWith(flags []string, script string) (string, Outcome) {
	args := append(append([]string{"run", "-d", "--state-dir", s.Env.StateDir()}, s.Env.RunFlags(flags...)...), "/bin/sh", "-c", script)
	res, err := s.Run(args...)
	if err != nil {
		return "", fail("`run -d` to run", "a harness error: %v", err)
	}
	id := strings.TrimSpace(res.Stdout)
	if res.Exit != 0 || !idPattern.MatchString(id) {
		return "", fail("`run -d` to exit 0 at once, printing the container's id", "%s, stdout %q", res.Describe(), engine.FirstLines(res.Stdout, 3))
	}
	return id, pass()
}

// detachUntil starts script in a detached container and waits until
// its log holds want: the container is up.
func (s *Session) detachUntil(script, want string) (string, Outcome) {
	id, out := s.detach(script)
	if !out.Pass {
		return "", out
	}
	if _, out := s.waitForLog(id, want); !out.Pass {
		return "", out
	}
	return id, pass()
}

// snapshotThenDetach reads the session's state, then starts script (which
// says "ready") in a detached container: the state is before it.
func (s *Session) snapshotThenDetach(script string) (engine.State, string, Outcome) {
	before, err := s.Snapshot(nil)
	if err != nil {
		return before, "", fail("the session's state", "a harness error: %v", err)
	}
	id, out := s.detachUntil(script, "ready")
	return before, id, out
}

// waitForLog waits up to 10s for the container's log (logs ID) to hold
// want, and returns the log.
func (s *Session) waitForLog(id, want string) (string, Outcome) {
	var res *engine.Result
	for deadline := time.Now().Add(10 * time.Second); ; {
		var out Outcome
		if res, out = s.life("logs", id); !out.Pass {
			return "", out
		}
		if res.Exit == 0 && strings.Contains(res.Stdout, want) {
			return res.Stdout, pass()
		}
		if time.Now().After(deadline) {
			return "", fail(fmt.Sprintf("`logs %s` to show %q within 10s", id, want), "%s, stdout %q", res.Describe(), engine.FirstLines(res.Stdout, 5))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// psLine is the line of `ps` about the container id ("" if none).
func (s *Session) psLine(id string) (string, Outcome) {
	res, out := s.life("ps")
	if !out.Pass {
		return "", out
	}
	if res.Exit != 0 {
		return "", fail("`ps` to exit 0", "%s", res.Describe())
	}
	for _, line := range strings.Split(res.Stdout, "\n") {
		if slices.Contains(strings.Fields(line), id) {
			return line, pass()
		}
	}
	return "", pass()
}

// waitNotRunning waits up to 10s for ps to stop calling the container
// running.
func (s *Session) waitNotRunning(id string) (string, Outcome) {
	for deadline := time.Now().Add(10 * time.Second); ; {
		line, out := s.psLine(id)
		if !out.Pass || !strings.Contains(line, "running") {
			return line, out
		}
		if time.Now().After(deadline) {
			return line, fail("`ps` to show container "+id+" as no longer running", "%q 10s on", line)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkDetached: run -d returns while the container keeps running: its
// output keeps growing after the command that started it has exited.
func checkDetached(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detach("while :; do echo tick; sleep 0.1; done")
		if !out.Pass {
			return out
		}
		first, out := s.waitForLog(id, "tick")
		if !out.Pass {
			return out
		}
		_, out = s.waitForLog(id, strings.Repeat("tick\n", strings.Count(first, "tick")+1))
		if !out.Pass {
			return fail("the detached container to keep running after `run -d` returned (its log to keep growing)",
				"its log stopped at %d ticks: %s", strings.Count(first, "tick"), out.Got)
		}
		return pass()
	})
}

// checkPs: ps lists a running detached container with its id, PID,
// status and command.
func checkPs(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detach("while :; do sleep 0.1; done")
		if !out.Pass {
			return out
		}
		line, out := s.psLine(id)
		if !out.Pass {
			return out
		}
		fields := strings.Fields(line)
		hasPID := slices.ContainsFunc(fields, func(f string) bool { n, err := strconv.Atoi(f); return err == nil && n > 0 })
		if line == "" || !hasPID || !strings.Contains(line, "running") || !strings.Contains(line, "sleep 0.1") {
			return fail("`ps` to list "+id+" with its PID, the status running and its command", "%q", line)
		}
		return pass()
	})
}

// checkExecInside: a command run by exec is in the container: the same
// hostname, namespaces and files, and exec exits with its status.
func checkExecInside(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detach("echo secret > /tmp/marker && /probe report && while :; do sleep 0.1; done")
		if !out.Pass {
			return out
		}
		log, out := s.waitForLog(id, "{")
		if !out.Pass {
			return out
		}
		inside := engine.ParseReport(log)
		if inside == nil {
			return fail("the container's probe report in its log", "%q", engine.FirstLines(log, 3))
		}
		res, out := s.life("exec", id, "/probe", "report", "--read", "/tmp/marker")
		if !out.Pass {
			return out
		}
		r := engine.ParseReport(res.Stdout)
		if res.Exit != 0 || r == nil {
			return fail("`exec "+id+" /probe report` to print the probe's report", "%s, stdout %q", res.Describe(), engine.FirstLines(res.Stdout, 3))
		}
		if diff := sameContainer(inside, r); diff != "" {
			return fail("the exec'd command in the container's namespaces, with its hostname and files", "%s", diff)
		}
		res, out = s.life("exec", id, "/bin/sh", "-c", "exit 5")
		if !out.Pass {
			return out
		}
		if res.Exit != 5 {
			return fail("`exec "+id+" sh -c 'exit 5'` to exit 5", "%s", res.Describe())
		}
		return pass()
	})
}

// sameContainer says how the exec'd probe's report r differs from the
// container's own.
func sameContainer(inside, r *probe.Report) string {
	var diffs []string
	if r.Hostname != inside.Hostname {
		diffs = append(diffs, fmt.Sprintf("hostname %q, the container's %q", r.Hostname, inside.Hostname))
	}
	for _, ns := range []string{"pid", "mnt", "uts", "ipc", "net", "user"} {
		if r.Namespaces[ns] != inside.Namespaces[ns] {
			diffs = append(diffs, fmt.Sprintf("%s namespace %s, the container's %s", ns, r.Namespaces[ns], inside.Namespaces[ns]))
		}
	}
	if r.Files["/tmp/marker"] != "secret\n" {
		diffs = append(diffs, fmt.Sprintf("/tmp/marker reads %q, not the container's \"secret\"", r.Files["/tmp/marker"]))
	}
	return strings.Join(diffs, "; ")
}

// ttyScript is what `exec -t` runs: it says what its terminal is (is
// stdin one; its pid, process group, session, tty_nr and the terminal's
// foreground group, from /proc) and its size, waits up to 30s for a
// SIGWINCH, then sleeps for Ctrl-C to interrupt.
const ttyScript = `trap 'echo "resized $(stty size)"; r=1' WINCH
set -- $(cat /proc/$$/stat)
echo "term $([ -t 0 ] && echo yes || echo no) pid $1 pgrp $5 sid $6 tty $7 fg $8"
echo "size $(stty size)"
i=0; while [ -z "$r" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
echo sleeping; exec sleep 1000`

var (
	ttyTermLine = regexp.MustCompile(`term (\w+) pid (\d+) pgrp (\d+) sid (\d+) tty (\d+) fg (-?\d+)`)
	ttySizeLine = regexp.MustCompile(`size ([^\r\n]*)\r?\n`)
	ttyResized  = regexp.MustCompile(`resized ([^\r\n]*)\r?\n`)
)

// ttyRun is how a run on a terminal ended.
type ttyRun struct {
	res *engine.Result
	err error
}

// checkExecTTY: `exec -t` on a pty the test opened (33x97): the command
// has a terminal of its own, leads its session with it as controlling
// terminal, has the size of exec's terminal and follows it when it
// changes (40x120), and a typed Ctrl-C ends its sleep: exec exits 130,
// and the container runs on.
func checkExecTTY(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detachUntil("echo ready; while :; do sleep 0.1; done", "ready")
		if !out.Pass {
			return out
		}
		master, slave, err := engine.OpenPTY()
		if err == nil {
			defer slave.Close()
			err = engine.SetTerminalSize(slave, 33, 97)
		}
		if err != nil {
			return fail("a pseudo-terminal for `exec -t`", "a harness error: %v", err)
		}
		term := &engine.TerminalLog{}
		go term.CopyFrom(master)
		done := make(chan ttyRun, 1)
		go func() {
			res, err := s.RunOnTerminal(slave.Name(), "exec", "--state-dir", s.Env.StateDir(), "-t", id, "/bin/sh", "-c", ttyScript)
			done <- ttyRun{res, err}
		}()
		out = driveTTY(slave, term)
		if out.Pass {
			_, _ = master.WriteString("\x03") // Ctrl-C, typed
			out = waitCtrlC(done, master, term)
		} else {
			master.Close() // a hangup: exec gets SIGHUP and passes it on
			<-done
		}
		master.Close()
		if !out.Pass {
			return out
		}
		if line, out := s.psLine(id); !out.Pass {
			return out
		} else if !strings.Contains(line, "running") {
			return fail("container "+id+" still running after Ctrl-C ended the command of `exec -t`", "ps: %q", line)
		}
		return pass()
	})
}

// driveTTY reads what the command of exec -t says of its terminal, then
// resizes exec's terminal and waits for the command to see it.
func driveTTY(slave *os.File, term *engine.TerminalLog) Outcome {
	size := waitForScreen(term, ttySizeLine)
	t := ttyTermLine.FindStringSubmatch(term.String())
	switch {
	case size == nil || t == nil:
		return fail("`exec -t ID sh` to run sh on a terminal, which prints what it is", "the terminal shows %q", lastChars(term.String(), 300))
	case t[1] != "yes":
		return fail("the command's stdin to be a terminal (`[ -t 0 ]`)", "it is not")
	case t[2] != t[4] || t[5] == "0" || t[6] != t[3]:
		return fail("the command to lead a session of its own with the pty as its controlling terminal, in the foreground (pid = session, tty_nr not 0, the terminal's foreground group its own)",
			"pid %s, session %s, tty_nr %s, process group %s, foreground group %s", t[2], t[4], t[5], t[3], t[6])
	case size[1] != "33 97":
		return fail("the pty to have the size of exec's terminal: `stty size` 33 97", "%q", size[1])
	}
	if err := engine.SetTerminalSize(slave, 40, 120); err != nil {
		return fail("exec's terminal resized", "a harness error: %v", err)
	}
	if r := waitForScreen(term, ttyResized); r == nil || r[1] != "40 120" {
		return fail("exec's terminal resized to 40x120 (SIGWINCH to exec): the command to get SIGWINCH and see 40 120", "the terminal shows %q", lastChars(term.String(), 200))
	}
	if waitForScreen(term, regexp.MustCompile(`sleeping`)) == nil {
		return fail("the command of `exec -t` to go on to its sleep", "the terminal shows %q", lastChars(term.String(), 200))
	}
	return pass()
}

// waitCtrlC waits up to 20s for exec -t to end after Ctrl-C, which must
// have interrupted its command: exit 130, 128+SIGINT.
func waitCtrlC(done chan ttyRun, master *os.File, term *engine.TerminalLog) Outcome {
	var run ttyRun
	select {
	case run = <-done:
	case <-time.After(20 * time.Second):
		master.Close()
		<-done
		return fail("Ctrl-C typed on exec -t's terminal to reach its command as SIGINT (through the pty's line discipline) and end its sleep", "exec still ran 20s on")
	}
	switch {
	case run.err != nil:
		return fail("`exec -t` to run", "a harness error: %v", run.err)
	case run.res.Exit != 130:
		return fail("Ctrl-C to end the command's sleep with SIGINT, and `exec -t` to exit 130", "%s; the terminal shows %q", run.res.Describe(), lastChars(term.String(), 200))
	}
	return pass()
}

// waitForScreen waits up to 20s for the terminal to show a match of re.
func waitForScreen(term *engine.TerminalLog, re *regexp.Regexp) []string {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(term.String()); m != nil || time.Now().After(deadline) {
			return m
		}
	}
}

// lastChars is the end of s, at most n bytes.
func lastChars(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// followScript runs `logs -f` in the background, waits for it to print
// the log so far ("first"), makes the container write "later" and end
// (SIGUSR1, passed on by its init), and waits up to 15s for logs -f to
// exit.
const followScript = `b=$1 s=$2 id=$3 out=$4
"$b" logs -f --state-dir "$s" "$id" >"$out" 2>&1 & p=$!
i=0; until grep -q first "$out" || [ $i -ge 100 ]; do sleep 0.1; i=$((i+1)); done
"$b" kill --state-dir "$s" "$id" USR1 >/dev/null || echo "kill failed"
i=0; until [ ! -e /proc/$p ] || [ "$(cut -d' ' -f3 /proc/$p/stat 2>/dev/null)" = Z ] || [ $i -ge 150 ]; do sleep 0.1; i=$((i+1)); done
[ $i -ge 150 ] && { kill $p; echo "still following"; }
wait $p; echo "exit $?"`

// checkLogsFollow: logs -f prints the log so far, then a line the
// container writes after it started, and exits 0 by itself once the
// container has ended.
func checkLogsFollow(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detachUntil(`trap "echo later; exit 0" USR1; echo first; while :; do sleep 0.1; done`, "first")
		if !out.Pass {
			return out
		}
		file := filepath.Join(s.Dir, "follow.out")
		res, err := s.RunCommand("/bin/sh", "-c", followScript, "sh", s.Env.Bin, s.Env.StateDir(), id, file)
		if err != nil {
			return fail("`logs -f` to run", "a harness error: %v", err)
		}
		data, _ := os.ReadFile(file)
		printed := engine.FirstLines(string(data), 5)
		switch {
		case strings.Contains(res.Stdout, "still following"):
			return fail("`logs -f "+id+"` to exit by itself soon after the container ended", "it still ran 15s after; it printed %q", printed)
		case !strings.Contains(string(data), "first") || !strings.Contains(string(data), "later"):
			return fail("`logs -f "+id+"` to print the log so far (first), then the line the container wrote after it started (later)", "it printed %q (%s)", printed, strings.TrimSpace(res.Stdout))
		case !strings.Contains(res.Stdout, "exit 0"):
			return fail("`logs -f "+id+"` to exit 0 once the container ended", "%s", strings.TrimSpace(res.Stdout))
		}
		return pass()
	})
}

// checkStopGraceful: stop sends SIGTERM first; a command that handles
// it ends by itself, within the grace period.
func checkStopGraceful(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detachUntil(`trap "echo TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done`, "ready")
		if !out.Pass {
			return out
		}
		res, out := s.life("stop", "-t", "20", id)
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail("`stop -t 20 "+id+"` to exit 0", "%s", res.Describe())
		}
		log, out := s.life("logs", id)
		if !out.Pass {
			return out
		}
		if !strings.Contains(log.Stdout, "TERM") {
			return fail("the command to get SIGTERM from stop and end by its handler (its log to say TERM)", "log %q", engine.FirstLines(log.Stdout, 5))
		}
		if line, out := s.waitNotRunning(id); !out.Pass {
			return out
		} else if line == "" {
			return fail("`ps` to still list the stopped container "+id+" until rm", "no line")
		}
		return pass()
	})
}

// checkStopKill: a command that ignores SIGTERM lives on through the
// grace period, then is killed: its log says it got TERM and kept going,
// and afterwards it is not running.
func checkStopKill(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detachUntil(`trap "echo TERM; t=1" TERM; echo ready; while :; do [ -n "$t" ] && echo after; sleep 0.1; done`, "ready")
		if !out.Pass {
			return out
		}
		res, out := s.life("stop", "-t", "2", id)
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail("`stop -t 2 "+id+"` to kill the container that ignores SIGTERM after the grace period, and exit 0", "%s", res.Describe())
		}
		if _, out := s.waitNotRunning(id); !out.Pass {
			return out
		}
		log, out := s.life("logs", id)
		if !out.Pass {
			return out
		}
		_, afterTerm, gotTerm := strings.Cut(log.Stdout, "TERM")
		if !gotTerm || !strings.Contains(afterTerm, "after") {
			return fail("SIGTERM first, then the command still running for the grace period (its log: TERM, then \"after\" lines), then SIGKILL",
				"log %q", engine.FirstLines(log.Stdout, 5))
		}
		return pass()
	})
}

// checkReap: the init reaps an orphaned grandchild. The subshell starts
// a short sleep in the background and exits, so the sleep is re-parented
// to PID 1; once it exits, only a wait by PID 1 removes it from /proc (a
// zombie stays listed). The script waits up to 10s for it to go.
func checkReap(e *Env) Outcome {
	const script = `(sleep 0.2 & echo $! > /tmp/orphan); o=$(cat /tmp/orphan); i=0
while [ -e /proc/$o ] && [ $i -lt 100 ]; do i=$((i+1)); sleep 0.1; done
if [ -e /proc/$o ]; then echo "not reaped: $(cat /proc/$o/stat)"; else echo reaped; fi`
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--init=true"), Cmd: []string{"/bin/sh", "-c", script}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Exit != 0 || !strings.Contains(res.Stdout, "reaped\n") || strings.Contains(res.Stdout, "not reaped") {
		return fail("an orphaned grandchild reaped once it exited (the init waits for it), not left a zombie for 10s", "%s, stdout %q", res.Describe(), engine.FirstLines(res.Stdout, 4))
	}
	return pass()
}

// checkInitSignals: with the init, the command is not PID 1, a SIGTERM
// sent to the runtime reaches it, and its exit status is the runtime's.
func checkInitSignals(e *Env) Outcome {
	const script = `trap "exit 42" TERM; echo "pid $$"; while :; do sleep 0.1; done`
	cgroups := e.JailContents()
	// A command the signal never reaches runs until the timeout kills
	// the runtime, which then cannot remove its cgroup.
	defer func() { _ = e.SweepJailSince(cgroups) }()
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags("--init=true"), Cmd: []string{"/bin/sh", "-c", script}, Timeout: 15 * time.Second,
		Live: func(pid int, stdout func() string) {
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(stdout(), "pid ") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if strings.Contains(res.Stdout, "pid 1\n") {
		return fail("the init as PID 1 and the command its child", "the command is PID 1")
	}
	if res.Exit != 42 {
		return fail("the command to get the SIGTERM sent to the runtime (through the init) and the runtime to exit with its status 42", "%s", res.Describe())
	}
	return pass()
}

// checkRmClean: after stop and rm, nothing of the container is left:
// its cgroup, mounts, network, directory (state, log, writable layer),
// and ps no longer lists it.
func checkRmClean(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		before, id, out := s.snapshotThenDetach("echo ready; while :; do echo data >> /tmp/file; sleep 0.1; done")
		if !out.Pass {
			return out
		}
		for _, args := range [][]string{{"stop", "-t", "10", id}, {"rm", id}} {
			res, out := s.life(args[0], args[1:]...)
			if !out.Pass {
				return out
			}
			if res.Exit != 0 {
				return fail(fmt.Sprintf("`%s` to exit 0", strings.Join(args, " ")), "%s", res.Describe())
			}
		}
		return s.nothingLeft(id, before)
	})
}

// nothingLeft checks that container id left nothing: no cgroup, mount,
// network or directory, and no line in ps.
func (s *Session) nothingLeft(id string, before engine.State) Outcome {
	after, err := s.Snapshot(before.Net)
	if err != nil {
		return fail("the session's state", "a harness error: %v", err)
	}
	var left []string
	if cg := s.NewCgroups(); len(cg) > 0 {
		left = append(left, "cgroups "+engine.ShortList(cg, 3))
	}
	if m := engine.MultisetMinus(after.Mounts, before.Mounts); len(m) > 0 {
		left = append(left, "mounts "+engine.ShortList(m, 3))
	}
	if n, _ := engine.NetLeft(before.Net, after.Net); len(n) > 0 {
		left = append(left, "network "+engine.ShortList(n, 3))
	}
	if _, err := os.Lstat(filepath.Join(s.Env.StateDir(), "containers", id)); err == nil {
		left = append(left, "its directory (state, log, writable layer) "+filepath.Join(s.Env.StateDir(), "containers", id))
	}
	line, out := s.psLine(id)
	if !out.Pass {
		return out
	}
	if line != "" {
		left = append(left, fmt.Sprintf("ps still lists it: %q", line))
	}
	if len(left) > 0 {
		return fail("nothing of container "+id+" left after rm", "%s", strings.Join(left, "; "))
	}
	return pass()
}

// checkRmDetached: a container started with run -d --rm goes when its
// command ends: no line in ps, no directory, nothing else left.
func checkRmDetached(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		before, err := s.Snapshot(nil)
		if err != nil {
			return fail("the session's state", "a harness error: %v", err)
		}
		id, out := s.detachWith([]string{"--rm"}, "sleep 0.3")
		if !out.Pass {
			return out
		}
		if out := s.waitGone(id); !out.Pass {
			return out
		}
		return s.nothingLeft(id, before)
	})
}

// waitGone waits up to 20s for container id to be removed: no line in
// ps and no directory.
func (s *Session) waitGone(id string) Outcome {
	dir := filepath.Join(s.Env.StateDir(), "containers", id)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		line, out := s.psLine(id)
		if !out.Pass {
			return out
		}
		_, err := os.Lstat(dir)
		if line == "" && err != nil {
			return pass()
		}
		if time.Now().After(deadline) {
			return fail("container "+id+" of `run -d --rm` removed once its command ended", "20s on, ps says %q, and %s exists: %v", line, dir, err == nil)
		}
	}
}

// checkCrashed: a runtime SIGKILLed while its container runs leaves a
// state ps shows as not running, and rm (no -f needed) cleans it all up.
func checkCrashed(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		before, id, out := s.snapshotThenDetach("echo ready; while :; do sleep 0.1; done")
		if !out.Pass {
			return out
		}
		if n, err := s.KillAdopted(); err != nil || n == 0 {
			return fail("a background runtime (or container) left running by `run -d`, to crash", "%d processes, %v", n, err)
		}
		line, out := s.waitNotRunning(id)
		if !out.Pass {
			return out
		}
		if line == "" {
			return fail("`ps` to still list container "+id+" after its runtime crashed", "no line")
		}
		res, out := s.life("rm", id)
		if !out.Pass {
			return out
		}
		if res.Exit != 0 {
			return fail("`rm "+id+"` to remove the crashed container and exit 0", "%s", res.Describe())
		}
		return s.nothingLeft(id, before)
	})
}

// checkLifeBadInput: an unknown id, a bad signal and rm of a running
// container each get one line and the documented status, and change
// nothing.
func checkLifeBadInput(e *Env) Outcome {
	return e.inSession(func(s *Session) Outcome {
		id, out := s.detachUntil("echo ready; while :; do sleep 0.1; done", "ready")
		if !out.Pass {
			return out
		}
		cases := []struct {
			args []string
			exit int
		}{
			{[]string{"logs", "nosuch"}, 125}, {[]string{"exec", "nosuch", "/bin/true"}, 125}, {[]string{"stop", "nosuch"}, 125},
			{[]string{"kill", "nosuch", "TERM"}, 125}, {[]string{"rm", "nosuch"}, 125},
			{[]string{"kill", id, "NOSUCHSIGNAL"}, 2}, {[]string{"rm", id}, 125},
			{[]string{"exec", "-t", id, "/bin/true"}, 125}, // stdin is no terminal
		}
		for _, c := range cases {
			res, out := s.life(c.args[0], c.args[1:]...)
			if !out.Pass {
				return out
			}
			msg := strings.TrimSpace(res.Stderr)
			if res.Exit != c.exit || msg == "" || strings.Contains(msg, "\n") || hasPanic(res.Stderr) {
				return fail(fmt.Sprintf("`%s` to exit %d with one line on stderr", strings.Join(c.args, " "), c.exit), "%s", res.Describe())
			}
		}
		if line, out := s.psLine(id); !out.Pass {
			return out
		} else if !strings.Contains(line, "running") {
			return fail("container "+id+" still running after the refused `rm` and the bad `kill`", "ps: %q", line)
		}
		return pass()
	})
}
