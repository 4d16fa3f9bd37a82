package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// The tables in docs/article.md are there, generated: a row for every
// check of the steps the article's programs claim.
func TestReadmeHasTables(t *testing.T) {
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	data, err := os.ReadFile(filepath.Join(root, "docs", "article.md"))
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(data), beginMarker+"\n")
	require.True(t, ok, "docs/article.md has no line %s", beginMarker)
	tables, _, ok := strings.Cut(rest, endMarker)
	require.True(t, ok, "docs/article.md has no line %s", endMarker)
	for _, p := range programs {
		section, ok := strings.CutPrefix(tables[strings.Index(tables, "### "+p.title):], "### "+p.title)
		require.True(t, ok, "no table for %s: run make article", p.title)
		section, _, _ = strings.Cut(section, "\n### ")
		for _, c := range harness.ChecksUpTo(p.step) {
			assert.Contains(t, section, "| `"+c.ID+"` |", "%s: no row for %s: run make article", p.title, c.ID)
		}
	}
}

// Every Pitfall a FAIL links to is a bullet of that step's Pitfalls.
func TestPitfallsExist(t *testing.T) {
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	all := []pitfall{pivotEINVAL, doesNotBuild}
	for _, p := range checkPitfalls {
		all = append(all, p)
	}
	for _, p := range all {
		data, err := os.ReadFile(filepath.Join(root, "steps", p.step, "README.md"))
		require.NoError(t, err)
		_, pitfalls, ok := strings.Cut(string(data), "\n## Pitfalls\n")
		require.True(t, ok, "steps/%s/README.md has no Pitfalls section", p.step)
		pitfalls, _, _ = strings.Cut(pitfalls, "\n## ")
		assert.Contains(t, pitfalls, "- **"+p.title, "steps/%s/README.md: no Pitfall %q", p.step, p.title)
	}
}

func TestCell(t *testing.T) {
	out := "`pivot run /probe` exited 1 with stderr \"panic: invalid argument\", and left mounts outside the container: [/x/rootfs]"
	failed := column{preflight: "the program failed before the probe ran: " + out, stopped: stopCause(out, "")}
	early := harness.Verdict{Check: harness.Check{ID: "pid.one"}, Outcome: harness.Outcome{Cause: "the program failed before the probe ran, so ..."}}
	assert.Contains(t, cell(failed, early), "04-pivotroot/README.md#pitfalls")
	usage := harness.Verdict{Check: harness.Check{ID: "cli.usage"}, Outcome: harness.Outcome{Got: "panic"}}
	assert.Contains(t, cell(failed, usage), "A panic instead of an error", "cli.usage runs no container: its own Pitfall")
	noProcMounted := harness.Verdict{Check: harness.Check{ID: "uts.ns_new"}, Outcome: harness.Outcome{Cause: "cannot read /proc/self/ns inside: is /proc mounted?"}}
	assert.Contains(t, cell(column{}, noProcMounted), "/proc never mounted")
	assert.Contains(t, stopCause(`ERROR exec: "--hostname": executable file not found in $PATH`, ""), "knows none of")
	late := harness.Verdict{Check: harness.Check{ID: "pid.one"}, Outcome: harness.Outcome{Got: "PID 2"}}
	assert.Contains(t, cell(column{}, late), "The command is PID 2, not 1")
	assert.Equal(t, "PASS", cell(column{}, harness.Verdict{Outcome: harness.Outcome{Pass: true}}))
}
