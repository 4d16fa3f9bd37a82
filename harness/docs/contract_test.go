package docs

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness/engine"
)

// The contract in the engine (engine.Contract) is the top README's
// section "The contract every step follows", clause by clause, and each
// flag the section gives a step or a default has that step and default in
// engine.Flags, which decides what the harness passes to which step.
func TestContractMatchesReadme(t *testing.T) {
	_, list := readmes(t)
	section, ok := Sections(list[0].text)["The contract every step follows"]
	require.True(t, ok, "README.md has no section \"The contract every step follows\"")
	assert.Equal(t, engine.Contract, clauses(section), "engine.Contract (harness/engine/contract.go) and the README's section differ")

	text := strings.Join(engine.Contract, "\n")
	since := regexp.MustCompile("`(--[a-z-]+)` from step (\\d\\d) \\(default `?([^`;)]+)`?")
	defaults := regexp.MustCompile("`(--[a-z-]+)` \\(default `([^`]+)`\\)")
	named := 0
	for _, m := range since.FindAllStringSubmatch(text, -1) {
		f := flag(t, m[1])
		assert.Equal(t, m[2], fmt.Sprintf("%02d", f.Since), "the README says %s comes with step %s", m[1], m[2])
		assert.Equal(t, m[3], f.Default, "the README gives %s the default %s", m[1], m[3])
		named++
	}
	for _, m := range defaults.FindAllStringSubmatch(text, -1) {
		assert.Equal(t, m[2], flag(t, m[1]).Default, "the README gives %s the default %s", m[1], m[2])
		named++
	}
	assert.GreaterOrEqual(t, named, 4, "the contract names --rootfs, --hostname, --cpus and --state-dir with their steps and defaults")
}

func flag(t *testing.T, name string) engine.Flag {
	t.Helper()
	for _, f := range engine.Flags {
		if f.Name == name {
			return f
		}
	}
	t.Errorf("the README's contract names %s, which engine.Flags does not have", name)
	return engine.Flag{}
}

// clauses splits a section into its clauses: each line of a code block,
// each bullet and each paragraph, with its lines joined by a space.
func clauses(section string) []string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	inFence := false
	for _, line := range strings.Split(section, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flush()
			inFence = !inFence
		case inFence && trimmed != "":
			out = append(out, trimmed)
		case trimmed == "":
			flush()
		case strings.HasPrefix(line, "- "):
			flush()
			cur = append(cur, strings.TrimPrefix(line, "- "))
		default:
			cur = append(cur, trimmed)
		}
	}
	flush()
	return out
}

// The engine never depends on the checks: package harness and what
// imports it (exercise, docs, the commands) are not among its
// dependencies, so a check can change without the engine noticing.
func TestEngineNeverImportsTheChecks(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/stepbox/stepbox/harness/engine").CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, pkg := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(pkg, "github.com/stepbox/stepbox/harness"); ok {
			assert.Contains(t, []string{"/engine", "/probe", "/fsutil"}, rest, "harness/engine depends on %s", pkg)
		}
	}
}
