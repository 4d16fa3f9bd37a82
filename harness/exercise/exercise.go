// Package exercise makes the learner's starter for a step: a copy of the
// previous step's solution with TODO comments where the step's lesson
// goes. `make exercise STEP=04` writes it to workspace/04-pivotroot, a Go
// package inside the module (so it builds with the module's
// dependencies) that git ignores.
package exercise

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
)

// Workspace is where learners' copies live, relative to the module root.
const Workspace = "workspace"

// A Starter is one file of a learner's copy.
type Starter struct {
	Name   string // file name, e.g. "main.go"
	Source string
	Todos  []Placed // where its TODOs ended up
}

// Placed is a TODO as written into a starter: its 1-based line and text.
type Placed struct {
	Line int
	Text string
}

// First is the first step with an exercise: step 01 is where the course
// starts, and has no solution before it to start from.
const First = 2

// Starters makes the starter files of step: the .go files of the step
// before it (tests left out), with the step's TODOs inserted and a header
// saying what the copy is. Every anchor must match exactly once, so a
// change to the previous step that moves one shows up here, as an error.
func Starters(root string, step int) ([]Starter, error) {
	todos, ok := Todos[step]
	if !ok {
		if step < First {
			return nil, fmt.Errorf("step %02d has no exercise: it is where the course starts (read steps/%02d-*); exercises start at step %02d", step, step, First)
		}
		return nil, fmt.Errorf("step %02d has no exercise yet: add its TODOs to its Step (harness/stepNN_*.go)", step)
	}
	prev, err := engine.StepDir(root, step-1)
	if err != nil {
		return nil, err
	}
	dir, err := engine.StepDir(root, step)
	if err != nil {
		return nil, err
	}
	names, err := goFiles(filepath.Join(root, prev))
	if err != nil {
		return nil, err
	}
	var starters []Starter
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(root, prev, name))
		if err != nil {
			return nil, err
		}
		s, err := insertTodos(step, name, string(data), todos)
		if err != nil {
			return nil, err
		}
		if name == "main.go" {
			if s.Source, err = addHeader(s.Source, step, prev, dir); err != nil {
				return nil, err
			}
		}
		s.Todos = placedTodos(s.Source, step)
		starters = append(starters, s)
	}
	for _, t := range todos {
		if !slices.Contains(names, cmp.Or(t.File, "main.go")) {
			return nil, fmt.Errorf("exercise %02d: TODO anchored in %s, which %s does not have", step, cmp.Or(t.File, "main.go"), prev)
		}
	}
	return starters, nil
}

// goFiles lists the non-test .go files of a step folder, sorted.
func goFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// insertTodos places the TODOs of one file, each on lines of its own
// next to the line holding its anchor, indented like the code there.
func insertTodos(step int, name, src string, todos []Todo) (Starter, error) {
	s := Starter{Name: name}
	type insertion struct {
		offset int // byte offset of the line the comment goes before
		text   string
	}
	var inserts []insertion
	for _, t := range todos {
		if cmp.Or(t.File, "main.go") != name {
			continue
		}
		if n := strings.Count(src, t.Anchor); n != 1 {
			return s, fmt.Errorf("exercise %02d: TODO anchor %q occurs %d times in %s of step %02d, want once: update the Todos of its Step (harness/stepNN_*.go)", step, t.Anchor, n, name, step-1)
		}
		at := strings.Index(src, t.Anchor)
		lineStart := strings.LastIndex(src[:at], "\n") + 1
		lineEnd := len(src)
		if i := strings.Index(src[at:], "\n"); i >= 0 {
			lineEnd = at + i + 1
		}
		line := src[lineStart:lineEnd]
		indent := line[:len(line)-len(strings.TrimLeft(line, "\t "))]
		offset := lineStart
		if t.After {
			offset = lineEnd
			if strings.HasSuffix(strings.TrimSpace(line), "{") {
				indent += "\t" // the first line of the block it opens
			}
		}
		inserts = append(inserts, insertion{offset, comment(indent, fmt.Sprintf("TODO(%02d): %s", step, t.Text))})
	}
	sort.SliceStable(inserts, func(i, j int) bool { return inserts[i].offset < inserts[j].offset })
	var b strings.Builder
	last := 0
	for _, in := range inserts {
		b.WriteString(src[last:in.offset])
		b.WriteString(in.text)
		last = in.offset
	}
	b.WriteString(src[last:])
	s.Source = b.String()
	return s, nil
}

// placedTodos lists the TODOs of step in src with their line numbers,
// for the learner's list.
func placedTodos(src string, step int) []Placed {
	var todos []Placed
	lines := strings.Split(src, "\n")
	tag := fmt.Sprintf("// TODO(%02d): ", step)
	for i, line := range lines {
		text, ok := strings.CutPrefix(strings.TrimSpace(line), tag)
		if !ok {
			continue
		}
		for _, next := range lines[i+1:] {
			more, ok := strings.CutPrefix(strings.TrimSpace(next), "//   ")
			if !ok {
				break
			}
			text += " " + more
		}
		todos = append(todos, Placed{Line: i + 1, Text: text})
	}
	return todos
}

// comment wraps text into // lines of at most 78 columns (a tab counted
// as 4), continuation lines indented by two spaces.
func comment(indent, text string) string {
	width := 78 - 4*strings.Count(indent, "\t") - len(strings.ReplaceAll(indent, "\t", "")) - len("// ")
	var b strings.Builder
	line := ""
	flush := func() {
		prefix := "// "
		if b.Len() > 0 {
			prefix = "//   "
		}
		b.WriteString(indent + prefix + line + "\n")
		line = ""
	}
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			flush()
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		flush()
	}
	return b.String()
}

// addHeader puts a comment after the package clause that says what the
// copy is and how to check it.
func addHeader(src string, step int, prev, dir string) (string, error) {
	const clause = "\npackage main\n"
	if strings.Count(src, clause) != 1 {
		return "", fmt.Errorf("exercise %02d: no single %q in main.go of %s", step, strings.TrimSpace(clause), prev)
	}
	n := fmt.Sprintf("%02d", step)
	header := fmt.Sprintf(`
// Exercise %[1]s: this is %[2]s's solution, copied for you to turn into
// step %[1]s (read %[3]s/README.md). The TODO(%[1]s) comments say what
// step %[1]s needs; how is up to you. From the repository root:
//
//	make check STEP=%[1]s      check this copy against step %[1]s
//	make hint STEP=%[1]s       a hint for the first failing check (again: the next hint)
//	make solution STEP=%[1]s   the reference solution, as a diff against this copy
`, n, "step "+filepath.Base(prev)[:2], dir)
	return strings.Replace(src, clause, clause+header, 1), nil
}

// Dir is the learner's copy of step in workspace: for step 4,
// workspace/04-pivotroot, named like the step's own folder.
func Dir(root, workspace string, step int) (string, error) {
	dir, err := engine.StepDir(root, step)
	if err != nil {
		return "", err
	}
	return filepath.Join(workspace, filepath.Base(dir)), nil
}

// ErrExists is returned by Create when the learner's copy exists already.
var ErrExists = errors.New("exists already")

// Create writes the starter of step into workspace (root/workspace for
// learners) and returns its directory and files. It never overwrites a
// learner's work.
func Create(root, workspace string, step int) (string, []Starter, error) {
	starters, err := Starters(root, step)
	if err != nil {
		return "", nil, err
	}
	dir, err := Dir(root, workspace, step)
	if err != nil {
		return "", nil, err
	}
	if _, err := os.Stat(dir); err == nil {
		return dir, nil, fmt.Errorf("%s %w: your work is kept; to start over, remove it (rm -r %s)", dir, ErrExists, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	for _, s := range starters {
		if err := os.WriteFile(filepath.Join(dir, s.Name), []byte(s.Source), 0o644); err != nil {
			return "", nil, err
		}
	}
	return dir, starters, nil
}

// BuildStarter builds step's starter exactly as a learner's untouched copy
// would build, without writing into the workspace: the previous step's
// package, its files replaced by the starter's (go build -overlay).
func BuildStarter(root string, step int) (string, error) {
	starters, err := Starters(root, step)
	if err != nil {
		return "", err
	}
	prev, err := engine.StepDir(root, step-1)
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp("", "stepbox-starter-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	overlay := map[string]string{}
	for _, s := range starters {
		file := filepath.Join(tmp, s.Name)
		if err := os.WriteFile(file, []byte(s.Source), 0o644); err != nil {
			return "", err
		}
		overlay[filepath.Join(root, prev, s.Name)] = file
	}
	return engine.Build(fmt.Sprintf("starter-%02d", step), "./"+prev, overlay)
}
