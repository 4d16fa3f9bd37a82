package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	cases := []struct {
		name, stdout string
		exit         int
		want         Outcome
		ok, of       int
	}{
		{"all ok", "TAP version 13\nok 1 - a\nok 2 - b\n1..2\n", 0, Pass, 2, 2},
		{"one not ok", "TAP version 13\nok 1 - a\nnot ok 2 - b\n1..2\n", 0, Fail, 1, 2},
		{"ok but exit 1", "ok 1 - a\n1..1\n", 1, Fail, 1, 1},
		{"no output", "", 1, NoTAP, 0, 0},
		{"garbage, exit 0", "exit status 2\n", 0, NoTAP, 0, 0},
		{"header only, exit 1", "TAP version 13\n", 1, Fail, 0, 0},
		{"indented not ok is a diagnostic", "ok 1 - a\n  not ok inside yaml\n1..1\n", 0, Pass, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := classify(c.stdout, c.exit)
			assert.Equal(t, c.want, r.Outcome)
			assert.Equal(t, c.ok, r.OK)
			assert.Equal(t, c.of, r.Of)
		})
	}
}

func TestTableCountsPasses(t *testing.T) {
	targets := []target{{name: "a", path: "/nonexistent/a"}, {name: "b", path: "/nonexistent/b"}}
	results := map[string]map[string]Result{
		"t1": {"a": {Outcome: Pass}, "b": {Outcome: Fail, OK: 1, Of: 3}},
		"t2": {"a": {Outcome: NoTAP}, "b": {Outcome: Pass}},
		"t3": {"a": {Outcome: Pass}, "b": {Outcome: Pass}},
	}
	text := table([]string{"t1", "t2", "t3"}, targets, results)
	assert.Contains(t, text, "| t1 | pass | fail (1/3 ok) |")
	assert.Contains(t, text, "| t2 | no TAP | pass |")
	assert.Contains(t, text, "| **passes fully** | **2** of 3 | **2** of 3 |")
}

func TestRewriteReadmeKeepsTheRest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# Step\n\nintro\n\n" + beginMarker + "\nold table\n" + endMarker + "\n\nafter\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))
	require.NoError(t, rewriteReadme(path, "new table\n"))
	data, _ := os.ReadFile(path)
	assert.Equal(t, strings.Replace(before, "old table", "new table", 1), string(data))

	require.NoError(t, os.WriteFile(path, []byte("no markers\n"), 0o644))
	assert.Error(t, rewriteReadme(path, "x\n"))
}

func TestFloor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "floor.txt")
	require.NoError(t, writeFloor(path, 31))
	n, err := readFloor(path)
	require.NoError(t, err)
	assert.Equal(t, 31, n)

	results := map[string]map[string]Result{"t": {"step-11": {Outcome: Fail}}}
	var out, errOut strings.Builder
	assert.Equal(t, 1, checkFloor(path, false, results, &out, &errOut), "below the floor fails")
	assert.Contains(t, errOut.String(), "fewer than the 31 recorded")

	require.NoError(t, writeFloor(path, 0))
	assert.Equal(t, 0, checkFloor(path, false, results, &out, &errOut))
}

func TestTestsAreTheExecutables(t *testing.T) {
	dir := t.TempDir()
	for name, mode := range map[string]os.FileMode{
		"create": 0o755, "state": 0o755, "runtimetest": 0o755, rootfsTarball: 0o644, ".built": 0o644,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), nil, mode))
	}
	got, err := tests(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"create", "state"}, got)

	require.NoError(t, os.Remove(filepath.Join(dir, "runtimetest")))
	_, err = tests(dir)
	assert.ErrorContains(t, err, "no runtimetest")
}

func TestSecondRunPassIsMarked(t *testing.T) {
	assert.Equal(t, "pass (2nd run)", Result{Outcome: Pass, Retried: true}.Cell())
	results := map[string]map[string]Result{"t": {"a": {Outcome: Pass, Retried: true}}}
	assert.Equal(t, 1, passes(results, "a"), "a second-run pass counts, and the cell says so")
}

func TestSuiteCgroupNames(t *testing.T) {
	for _, name := range []string{"testdir", "cgrouptest", "07dbd554-a2e9-4bc4-ad12-21e465b5fdd3", "stepbox-07dbd554-a2e9-4bc4-ad12-21e465b5fdd3"} {
		assert.True(t, suiteCgroupNames.MatchString(name), name)
	}
	for _, name := range []string{"stepbox-jail-57d38e68", "stepbox-r1", "libpod_parent", "default", "testdir2", "user.slice"} {
		assert.False(t, suiteCgroupNames.MatchString(name), "%s is not the suite's", name)
	}
}
