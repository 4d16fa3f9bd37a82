package docs

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
)

// readme is one README: its path from the module root and its text.
type readme struct {
	path, text string
	step       int // 0 for the top README
}

func readmes(t *testing.T) (string, []readme) {
	t.Helper()
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	top, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	list := []readme{{path: "README.md", text: string(top)}}
	for _, s := range stepFolders(t, root) {
		data, err := os.ReadFile(filepath.Join(root, s.dir, "README.md"))
		require.NoError(t, err, "step %02d has no README.md", s.step)
		list = append(list, readme{path: s.dir + "/README.md", text: string(data), step: s.step})
	}
	return root, list
}

type stepFolder struct {
	dir  string // steps/04-pivotroot
	step int
}

var stepName = regexp.MustCompile(`^(\d\d)-[a-z0-9-]+$`)

func stepFolders(t *testing.T, root string) []stepFolder {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, "steps"))
	require.NoError(t, err)
	var steps []stepFolder
	for _, e := range entries {
		if m := stepName.FindStringSubmatch(e.Name()); e.IsDir() && m != nil {
			var n int
			fmt.Sscanf(m[1], "%d", &n)
			steps = append(steps, stepFolder{dir: "steps/" + e.Name(), step: n})
		}
	}
	return steps
}

// Every command the READMEs show exists: make's targets and variables,
// the packages go builds and runs, and the flags of stepbox's commands
// and of the steps.
func TestReadmeCommandsExist(t *testing.T) {
	root, docs := readmes(t)
	mk, err := ReadMake(root)
	require.NoError(t, err)
	var stems []string
	for _, s := range stepFolders(t, root) {
		stems = append(stems, fmt.Sprintf("%02d", s.step))
	}
	c := &commandChecker{root: root, mk: mk, stems: stems, flags: map[string]map[string]bool{}}
	checked := 0
	for _, doc := range docs {
		for _, cmd := range Commands(doc.text) {
			for _, problem := range c.check(cmd) {
				t.Errorf("%s: `%s`: %s", doc.path, cmd, problem)
			}
			checked++
		}
	}
	assert.Greater(t, checked, 50, "the READMEs show commands; finding few means the extraction broke")
	assert.Greater(t, c.known, 30, "commands recognised and checked")
}

type commandChecker struct {
	root  string
	mk    *Make
	stems []string
	flags map[string]map[string]bool // by package dir
	known int                        // commands recognised
}

var stepBinary = regexp.MustCompile(`^(?:\./)?bin/step-?(\d\d)$`)

// check returns what is wrong with one command; commands it does not
// know (echo, ls, findmnt ...) are not its business.
func (c *commandChecker) check(cmd string) []string {
	words := Fields(cmd)
	for len(words) > 0 && (words[0] == "sudo" || words[0] == "-E" || strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-")) {
		words = words[1:] // sudo, and VAR=value before a command
	}
	if len(words) == 0 {
		return nil
	}
	switch {
	case words[0] == "make":
		c.known++
		return c.checkMake(words[1:])
	case words[0] == "go" && len(words) > 2 && words[1] == "run":
		c.known++
		return c.checkFlags(strings.TrimPrefix(words[2], "./"), words[3:], false)
	case words[0] == "go" && len(words) > 1 && slices.Contains([]string{"build", "test", "vet"}, words[1]):
		c.known++
		var problems []string
		for _, w := range words[2:] {
			if strings.HasPrefix(w, "./") && w != "./..." {
				dir := strings.TrimSuffix(strings.TrimPrefix(w, "./"), "/...")
				if copyOf, ok := strings.CutPrefix(dir, "workspace/"); ok {
					dir = "steps/" + copyOf // a learner's copy is named like its step
				}
				if _, err := os.Stat(filepath.Join(c.root, dir)); err != nil {
					problems = append(problems, fmt.Sprintf("package %s does not exist", w))
				}
			}
		}
		return problems
	case filepath.Base(words[0]) == "stepcheck" || filepath.Base(words[0]) == "exercise":
		c.known++
		return c.checkFlags("harness/cmd/"+filepath.Base(words[0]), words[1:], false)
	case stepBinary.MatchString(words[0]) && len(words) > 1 && words[1] == "run":
		c.known++
		dir, err := engine.StepDir(c.root, atoi(stepBinary.FindStringSubmatch(words[0])[1]))
		if err != nil {
			return []string{err.Error()}
		}
		return c.checkFlags(dir, words[2:], true)
	case words[0] == "BIN" && len(words) > 1 && words[1] == "run":
		c.known++
		last, _ := engine.StepDir(c.root, harness.LastStep())
		return c.checkFlags(last, words[2:], true)
	}
	return nil
}

func (c *commandChecker) checkMake(args []string) []string {
	var problems []string
	for _, a := range args {
		if name, _, ok := strings.Cut(a, "="); ok {
			if !c.mk.Vars[name] {
				problems = append(problems, fmt.Sprintf("make has no variable %s", name))
			}
			continue
		}
		if strings.HasPrefix(a, "-") {
			continue
		}
		if !c.mk.HasTarget(a, c.stems) {
			problems = append(problems, fmt.Sprintf("make has no target %q", a))
		}
	}
	return problems
}

// checkFlags checks the --flags in args against those the package in dir
// declares. For a step (contract), parsing stops at the command, as the
// step's own parsing does: every step flag takes a value.
func (c *commandChecker) checkFlags(dir string, args []string, contract bool) []string {
	declared, ok := c.flags[dir]
	if !ok {
		var err error
		if declared, err = DeclaredFlags(filepath.Join(c.root, dir)); err != nil {
			return []string{fmt.Sprintf("reading the flags of %s: %v", dir, err)}
		}
		c.flags[dir] = declared
	}
	var problems []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
			if contract {
				break
			}
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !declared[name] {
			problems = append(problems, fmt.Sprintf("%s has no flag --%s", dir, name))
		}
		if contract && !hasValue {
			i++ // its value
		}
	}
	return problems
}

func atoi(s string) int {
	var n int
	fmt.Sscanf(s, "%d", &n)
	return n
}

// The sections every step README has, in a learner's reading order.
func requiredSections(step int) []string {
	changed := fmt.Sprintf("What changed since step %02d", step-1)
	if step == 1 {
		changed = "What changed"
	}
	return []string{"Goal", changed, "Run it", "How it is checked", "Pitfalls", "Exercises", "Where this goes in production"}
}

func TestStepReadmesHaveEverySection(t *testing.T) {
	_, docs := readmes(t)
	for _, doc := range docs[1:] {
		sections := Sections(doc.text)
		for _, name := range requiredSections(doc.step) {
			assert.Contains(t, sections, name, "%s has no section ## %s", doc.path, name)
		}
		assert.True(t, slices.ContainsFunc(Blocks(doc.text), func(b Block) bool { return b.Lang == "mermaid" }),
			"%s has no mermaid diagram of its processes, namespaces and mounts", doc.path)
		ex := sections["Exercises"]
		assert.True(t, strings.Contains(strings.ToLower(ex), "break it"), "%s: Exercises has no \"break it\" experiment", doc.path)
		if doc.step >= 2 {
			want := fmt.Sprintf("make exercise STEP=%02d", doc.step)
			assert.True(t, strings.Contains(ex, want), "%s: Exercises does not start the learner's copy with `%s`", doc.path, want)
		}
		prod := sections["Where this goes in production"]
		for _, want := range []string{"runc", "crun", "Documentation/"} {
			assert.True(t, strings.Contains(prod, want), "%s: Where this goes in production names no %s", doc.path, want)
		}
	}
}

var checkItem = regexp.MustCompile("(?m)^- `([a-z_]+\\.[a-z_]+)` — ")

// Every check is explained in its own step's README, under "How it is
// checked", and the top README's table of steps lists each step's checks.
func TestEveryCheckIsDocumented(t *testing.T) {
	_, docs := readmes(t)
	byStep := map[int][]string{}
	for _, c := range harness.Catalogue {
		byStep[c.Step] = append(byStep[c.Step], c.ID)
	}
	for _, doc := range docs[1:] {
		var listed []string
		for _, m := range checkItem.FindAllStringSubmatch(Sections(doc.text)["How it is checked"], -1) {
			listed = append(listed, m[1])
		}
		assert.ElementsMatch(t, byStep[doc.step], listed,
			"%s: How it is checked must have a line \"- `ID` — what it proves\" for exactly the step's new checks", doc.path)
	}
	table := docs[0].text
	for _, s := range docs[1:] {
		dir := strings.TrimSuffix(s.path, "/README.md")
		row := regexp.MustCompile(`(?m)^\| \[` + regexp.QuoteMeta(filepath.Base(dir)) + `\]\(` + regexp.QuoteMeta(dir) + `\) \|.*\|(.*)\|$`).FindStringSubmatch(table)
		if !assert.NotNil(t, row, "README.md's table of steps has no row for %s", dir) {
			continue
		}
		var ids []string
		for _, m := range codeSpan.FindAllStringSubmatch(row[1], -1) {
			ids = append(ids, m[1])
		}
		assert.ElementsMatch(t, byStep[s.step], ids, "README.md: the new checks of %s", dir)
	}
}

var verdictLine = regexp.MustCompile(`\b(?:PASS|FAIL) ([a-z_]+\.[a-z_]+)`)

// A check ID quoted in a verdict (PASS id, FAIL id) anywhere in the
// READMEs exists.
func TestVerdictsNameRealChecks(t *testing.T) {
	_, docs := readmes(t)
	for _, doc := range docs {
		for _, m := range verdictLine.FindAllStringSubmatch(doc.text, -1) {
			_, ok := harness.Lookup(m[1])
			assert.True(t, ok || m[1] == "host.unchanged", "%s shows a verdict for %s, which is not a check", doc.path, m[1])
		}
	}
}

// The checker itself catches what it is for: a test that cannot fail is
// a defect.
func TestCheckerCatchesMistakes(t *testing.T) {
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	mk, err := ReadMake(root)
	require.NoError(t, err)
	c := &commandChecker{root: root, mk: mk, stems: []string{"01", "02", "03", "04", "05"}, flags: map[string]map[string]bool{}}
	for _, good := range []string{
		"make step-04 test", "make check STEP=04 BIN=./x", "make exercise STEP=02", "make progress",
		"sudo bin/step05 run --cpus 0.2 /bin/sh -c 'echo --nonsense'",
		"go run ./harness/cmd/stepcheck --step 04 --bin PATH --json",
		"bin/stepcheck --progress", "go build -o bin/step02 ./steps/02-uts", "echo --whatever",
	} {
		assert.Empty(t, c.check(good), good)
	}
	for _, bad := range []string{
		"make no-such-target", "make check NO_SUCH_VAR=1", "make step-99",
		"sudo bin/step04 run --cpus 1 /bin/sh", "go run ./harness/cmd/stepcheck --no-such-flag",
		"go build ./steps/99-nothing", "stepcheck --step 04 --colour",
	} {
		assert.NotEmpty(t, c.check(bad), bad)
	}
}

func TestCommandsFromMarkdown(t *testing.T) {
	md := "Run `make check STEP=04` then\n\n```sh\nmake a; make b && make c # not this\n```\n\n```mermaid\nmake d\n```\n"
	assert.Equal(t, []string{"make a", "make b", "make c", "make check STEP=04"}, Commands(md))
	assert.Equal(t, []string{"a", "b c", "--x", "y"}, Fields(`a "b c" [--x] 'y'`))
	sections := Sections("intro\n## One\nbody\n```sh\n## not a heading\n```\n## Two\n")
	assert.Contains(t, sections["One"], "## not a heading")
	assert.Contains(t, sections, "Two")
}
