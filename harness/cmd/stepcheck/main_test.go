package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

func TestParseArgs(t *testing.T) {
	o, err := parseArgs([]string{"--step", "04", "--bin", "x", "--hint"})
	require.NoError(t, err)
	assert.Equal(t, options{step: 4, bin: "x", hint: true}, o)
	o, err = parseArgs([]string{"--progress", "--workspace", "/w"})
	require.NoError(t, err)
	assert.Equal(t, options{progress: true, workspace: "/w"}, o)

	for _, bad := range [][]string{
		{},
		{"--step", "four"},
		{"--step", "0"},
		{"--step", "99"},
		{"--step", "04", "extra"},
		{"--step", "04", "--hint", "--json"},
		{"--progress", "--step", "04"},
		{"--progress", "--bin", "x"},
		{"--no-such-flag"},
	} {
		_, err := parseArgs(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// Usage errors exit 2 with one line, before anything needs root.
func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"--step", "04", "--hint", "--json"}, &stdout, &stderr)
	assert.Equal(t, 2, code)
	assert.Empty(t, stdout.String())
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), stderr.String())
	assert.Contains(t, stderr.String(), "usage: stepcheck")
}

func verdict(id string, pass bool) harness.Verdict {
	c, ok := harness.Lookup(id)
	if !ok {
		c = harness.Check{ID: id}
	}
	return harness.Verdict{Check: c, Outcome: harness.Outcome{Pass: pass, Expected: "e", Got: "g"}}
}

// The summary names the failing check to fix first: the step's own
// before an earlier step's, and a changed host before everything.
func TestSummary(t *testing.T) {
	assert.Equal(t, "All 2 checks of step 02 pass.", summary([]harness.Verdict{verdict("cli.args", true), verdict("uts.ns_new", true)}, options{step: 2}))
	s := summary([]harness.Verdict{verdict("cli.args", false), verdict("uts.hostname", true), verdict("uts.ns_new", false)}, options{step: 2})
	assert.Equal(t, "1 of 3 checks pass. Fix uts.ns_new first: `make hint STEP=02` gives its hints one at a time.", s)
	s = summary([]harness.Verdict{verdict("cli.args", false), verdict(hostUnchanged, false)}, options{step: 2})
	assert.Contains(t, s, "Fix host.unchanged first")
	// With --bin, the hints are for that binary, not the workspace copy.
	s = summary([]harness.Verdict{verdict("uts.ns_new", false)}, options{step: 2, bin: "./mine"})
	assert.Contains(t, s, "`stepcheck --step 02 --hint --bin ./mine` gives its hints")
}

// --help is real help on stdout and exit 0, not "flag: help requested".
func TestRunHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{arg}, &stdout, &stderr)
		assert.Equal(t, 0, code, arg)
		assert.Empty(t, stderr.String(), arg)
		assert.Contains(t, stdout.String(), "stepcheck --step 04 --bin ./mycontainer", arg)
		assert.Contains(t, stdout.String(), "-workspace", arg)
	}
}

// Hint levels are kept per binary with --bin, per step without.
func TestHintKey(t *testing.T) {
	a := hintKey(options{step: 5, bin: "/x/a"}, "cgroup.enforced")
	b := hintKey(options{step: 5, bin: "/x/b"}, "cgroup.enforced")
	assert.NotEqual(t, a, b)
	assert.Equal(t, "05 cgroup.enforced", hintKey(options{step: 5}, "cgroup.enforced"))
}

func TestProgressTable(t *testing.T) {
	cols := []column{
		{step: 1},
		{step: 2, copy: true, results: map[string]harness.Verdict{}},
		{step: 3, copy: true, problem: "does not build: main.go:3:1: syntax error"},
	}
	for _, c := range harness.ChecksUpTo(2) {
		cols[1].results[c.ID] = verdict(c.ID, c.ID != "uts.hostname")
	}
	var out bytes.Buffer
	printTable(&out, cols)
	table := out.String()
	row := func(id string) []string {
		for _, line := range strings.Split(table, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == id {
				return f[1:]
			}
		}
		t.Fatalf("no row %s in\n%s", id, table)
		return nil
	}
	assert.Equal(t, []string{"01", "02", "03"}, row("check"))
	assert.Equal(t, []string{".", "ok", "-"}, row("cli.args"))
	assert.Equal(t, []string{"FAIL", "-"}, row("uts.hostname"), "no cell for step 01, which has no such check")
	assert.Equal(t, []string{"-"}, row("pid.one"))
	assert.Equal(t, []string{".", "no", "no"}, strings.Fields(strings.TrimPrefix(lineStarting(table, "step passes"), "step passes")))
	assert.Contains(t, table, "03: not checked: does not build: main.go:3:1: syntax error")
}

func lineStarting(s, prefix string) string {
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

func TestHintsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ws", hintsFile)
	shown, err := loadHints(path)
	require.NoError(t, err)
	assert.Empty(t, shown)
	require.NoError(t, saveHints(path, map[string]int{"02 uts.hostname": 2}))
	shown, err = loadHints(path)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{"02 uts.hostname": 2}, shown)
	require.NoError(t, os.WriteFile(path, []byte("{"), 0o644))
	_, err = loadHints(path)
	assert.ErrorContains(t, err, "delete it to start the hints over")
}

// The hint loop, end to end: on a program that ignores --hostname, each
// call shows the next hint of uts.hostname, then stays on the last.
func TestHintProgresses(t *testing.T) {
	engine.RequirePrivileged(t)
	t.Cleanup(func() { _ = engine.RemoveBuilds() })
	var bad harness.Mutant
	for _, m := range harness.Mutants {
		if m.Check == "uts.hostname" {
			bad = m
		}
	}
	bin, err := harness.BuildMutant(bad)
	require.NoError(t, err)
	ws := t.TempDir()
	args := []string{"--step", "02", "--hint", "--bin", bin, "--workspace", ws}
	hostname, _ := harness.Lookup("uts.hostname")
	for level := range harness.HintLevels + 1 {
		var stdout, stderr bytes.Buffer
		require.Equal(t, 0, run(args, &stdout, &stderr), stderr.String())
		out := stdout.String()
		assert.True(t, strings.HasPrefix(out, "FAIL uts.hostname: expected "), out)
		want := min(level, harness.HintLevels-1)
		assert.Contains(t, out, hostname.Hints[want])
		if want == harness.HintLevels-1 {
			assert.Contains(t, out, "make solution STEP=02")
		}
	}
}
