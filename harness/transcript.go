package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// A Transcript is what a learner sees from one check run: stepcheck
// prints it, and the golden transcripts (golden.go) keep it.
type Transcript struct {
	Label    string // "your copy workspace/04-pivotroot", "./mybox.sh"
	Step     int
	First    string // Env.Preflight's line, when no check could look
	Verdicts []Verdict
	HintCmd  string // the command that gives the next hint
}

// String is the whole transcript: a header, the FIRST line if any, one
// line per check, and the summary.
func (t Transcript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Checking %s against step %02d:\n", t.Label, t.Step)
	if t.First != "" {
		fmt.Fprintf(&b, "FIRST: %s\n", t.First)
	}
	for _, v := range t.Verdicts {
		b.WriteString(v.Line() + "\n")
	}
	b.WriteString(t.Summary() + "\n")
	return b.String()
}

// Failed says whether any check failed.
func (t Transcript) Failed() bool {
	return slices.ContainsFunc(t.Verdicts, func(v Verdict) bool { return !v.Pass })
}

// Summary is the last line: how many passed, which failing check to fix
// first (FixOrder), and the command that gives its hints.
func (t Transcript) Summary() string {
	passed := 0
	failing := map[string]bool{}
	for _, v := range t.Verdicts {
		if v.Pass {
			passed++
		} else {
			failing[v.ID] = true
		}
	}
	if len(failing) == 0 {
		return fmt.Sprintf("All %d checks of step %02d pass.", passed, t.Step)
	}
	first := HostUnchanged
	if !failing[HostUnchanged] {
		for _, c := range FixOrder(t.Step) {
			if failing[c.ID] {
				first = c.ID
				break
			}
		}
	}
	return fmt.Sprintf("%d of %d checks pass. Fix %s first: `%s` gives its hints one at a time.",
		passed, len(t.Verdicts), first, t.HintCmd)
}

// HostUnchanged is the pseudo-check the host guard fails.
const HostUnchanged = "host.unchanged"

// CheckAll runs checks in order against bin as an implementation of
// step, each under the host guard; a run that changed the host adds the
// failed pseudo-check HostUnchanged. With stopAtFailure it stops at the
// first failure. The transcript has no Label or HintCmd: the caller
// names those.
func CheckAll(bin string, step int, checks []Check, stopAtFailure bool) (Transcript, error) {
	t := Transcript{Step: step}
	env, err := NewEnv(bin, step)
	if err != nil {
		return t, err
	}
	defer env.Close()
	for _, c := range checks {
		v, diff, err := guardedVerify(env, c)
		if err != nil {
			return t, err
		}
		t.Verdicts = append(t.Verdicts, v)
		if diff != "" {
			t.Verdicts = append(t.Verdicts, Verdict{
				Check: Check{ID: HostUnchanged, Step: c.Step},
				Outcome: Outcome{Expected: "the host unchanged after " + c.ID, Got: diff,
					Cause: "clean up everything the runtime creates, also when it fails"},
			})
		}
		if stopAtFailure && (!v.Pass || diff != "") {
			break
		}
	}
	t.First = preflight(env, t)
	return t, nil
}

// guardedVerify runs one check under the host guard: diff is what
// changed on the host ("" if nothing).
func guardedVerify(env *Env, c Check) (v Verdict, diff string, err error) {
	g, err := engine.StartGuard(env.Base)
	if err != nil {
		return Verdict{}, "", err
	}
	v = env.Verify(c)
	return v, g.Finish(), nil
}

// preflight says why no check could look, when a check failed because the
// program failed before the probe ran (the standard run is cached, so
// this usually runs nothing new; when it does, the host guard watches).
func preflight(env *Env, t Transcript) string {
	if !t.Failed() {
		return ""
	}
	g, err := engine.StartGuard(env.Base)
	if err != nil {
		return ""
	}
	defer g.Finish()
	return env.Preflight()
}
