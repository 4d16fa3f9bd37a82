package docs

import (
	"regexp"
	"strings"
)

// Sections splits a Markdown text at its "## " headings: heading -> body.
func Sections(md string) map[string]string {
	sections := map[string]string{}
	heading := ""
	var body strings.Builder
	inFence := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		if !inFence && strings.HasPrefix(line, "## ") {
			sections[heading] = body.String()
			heading, body = strings.TrimSpace(strings.TrimPrefix(line, "## ")), strings.Builder{}
			continue
		}
		body.WriteString(line + "\n")
	}
	sections[heading] = body.String()
	return sections
}

// A Block is a fenced code block: its language and its lines.
type Block struct {
	Lang  string
	Lines []string
}

// Blocks lists the fenced code blocks of a Markdown text.
func Blocks(md string) []Block {
	var blocks []Block
	var cur *Block
	for _, line := range strings.Split(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &Block{Lang: strings.TrimPrefix(trimmed, "```")}
		case cur != nil && trimmed == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.Lines = append(cur.Lines, line)
		}
	}
	return blocks
}

var codeSpan = regexp.MustCompile("`([^`\n]+)`")

// Spans lists the inline code spans of a Markdown text, outside fenced
// blocks.
func Spans(md string) []string {
	var spans []string
	inFence := false
	var text strings.Builder
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			text.WriteString(line + "\n")
		}
	}
	// A span may wrap onto the next line in a paragraph.
	flat := strings.ReplaceAll(text.String(), "\n", " ")
	for _, m := range codeSpan.FindAllStringSubmatch(flat, -1) {
		spans = append(spans, strings.TrimSpace(m[1]))
	}
	return spans
}

// Commands lists the shell commands a Markdown text shows: every line of
// its sh and bash blocks and every inline span that reads as a command,
// each split at ;, &&, || and | and without its trailing comment.
func Commands(md string) []string {
	var lines []string
	for _, b := range Blocks(md) {
		if b.Lang == "sh" || b.Lang == "bash" || b.Lang == "console" {
			lines = append(lines, b.Lines...)
		}
	}
	lines = append(lines, Spans(md)...)
	var cmds []string
	for _, line := range lines {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
		for _, part := range regexp.MustCompile(`;|&&|\|\||\|`).Split(line, -1) {
			if part = strings.TrimSpace(part); part != "" {
				cmds = append(cmds, part)
			}
		}
	}
	return cmds
}

// Fields splits a command line into words, keeping quoted strings whole
// and dropping the [ ] that mark optional parts in usage lines.
func Fields(cmd string) []string {
	var words []string
	var cur strings.Builder
	quote := rune(0)
	for _, r := range cmd {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote = r
		case r == ' ' || r == '\t' || r == '[' || r == ']':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}
