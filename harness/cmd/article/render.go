package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stepbox/stepbox/harness"
)

// render is one program's table: a row a check, a column a variant, with
// what stopped each variant before the probe ran, if anything, above it.
func render(p program, cols []column) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", p.title)
	for _, c := range cols {
		fmt.Fprintf(&b, "- **%s** (`harness/testdata/article/%s`): %s\n", c.title, c.dir, summary(c))
	}
	b.WriteString("\n| check |")
	for _, c := range cols {
		fmt.Fprintf(&b, " %s |", c.title)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, check := range harness.ChecksUpTo(p.step) {
		fmt.Fprintf(&b, "| `%s` |", check.ID)
		for _, c := range cols {
			v, ok := c.byID[check.ID]
			switch {
			case c.buildErr != "":
				b.WriteString(" not run |")
			case !ok:
				b.WriteString(" missing |")
			default:
				fmt.Fprintf(&b, " %s |", cell(c, v))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// summary is a variant's line above the table: whether it compiled, how
// many checks it passed, and what stopped it before the probe ran.
func summary(c column) string {
	if c.buildErr != "" {
		return fmt.Sprintf("does not compile (`%s`): %s", c.buildErr, doesNotBuild.link())
	}
	passed := 0
	for _, v := range c.verdicts {
		if v.Pass {
			passed++
		}
	}
	s := fmt.Sprintf("%d of %d checks pass", passed, len(c.verdicts))
	if c.preflight != "" {
		s += fmt.Sprintf("; %s", oneLine(c.preflight))
	}
	return s
}

// volatile are the parts of a run's description that change every run.
var volatile = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`stepbox-check-[0-9]+`), "stepbox-check-N"},
	{regexp.MustCompile(`sbx-[0-9a-f]+`), "sbx-HEX"},
	{regexp.MustCompile(`0x[0-9a-f]+`), "0x..."},
}

// oneLine keeps a message to one table-safe line, the same every run.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for _, v := range volatile {
		s = v.re.ReplaceAllString(s, v.with)
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "`", "'")
	if len(s) > 300 {
		s = s[:300] + " ..."
	}
	return s
}
