package docs

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stepbox/stepbox/harness"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The sample output of stepcheck in the READMEs is taken from the golden
// transcripts, never written by hand: each sample, from its "Checking"
// line to its summary line, must be one golden transcript with some of
// its lines left out ("..."). The checked binary's name is the README's
// own, and the hostnames the golden files normalise may be any.
func TestReadmeSamplesAreGolden(t *testing.T) {
	golden, err := harness.GoldenTranscripts()
	require.NoError(t, err)
	_, list := readmes(t)
	samples := 0
	for _, r := range list {
		for _, sample := range transcriptSamples(r.text) {
			samples++
			assert.True(t, matchesAnyGolden(sample, golden),
				"%s: this sample output is in no golden transcript (harness/testdata/transcripts); copy it from one:\n%s",
				r.path, strings.Join(sample, "\n"))
		}
	}
	assert.NotZero(t, samples, "no README shows stepcheck's output")
}

var summaryLine = regexp.MustCompile(`^(All \d+ checks of step \d+ pass\.|\d+ of \d+ checks pass\. )`)

// transcriptSamples are the runs of lines of text from a "Checking ...
// against step NN:" line to the summary line after it.
func transcriptSamples(text string) [][]string {
	var samples [][]string
	var cur []string
	for _, line := range strings.Split(text, "\n") {
		switch {
		case strings.HasPrefix(line, "Checking ") && strings.Contains(line, " against step "):
			cur = []string{line}
		case cur != nil:
			cur = append(cur, line)
			if summaryLine.MatchString(line) {
				samples = append(samples, cur)
				cur = nil
			}
		}
	}
	return samples
}

func matchesAnyGolden(sample []string, golden map[string]string) bool {
	for _, g := range golden {
		if matchesGolden(sample, strings.Split(strings.TrimSuffix(g, "\n"), "\n")) {
			return true
		}
	}
	return false
}

// matchesGolden says whether sample is golden with "..." lines standing
// for any run of lines, the header's binary free, and each normalised
// part free to be any value of its kind.
func matchesGolden(sample, golden []string) bool {
	if len(sample) == 0 || len(golden) == 0 || stepOf(sample[0]) != stepOf(golden[0]) {
		return false
	}
	return matchLines(sample[1:], golden[1:])
}

func matchLines(sample, golden []string) bool {
	if len(sample) == 0 {
		return len(golden) == 0
	}
	if sample[0] == "..." {
		for skip := 0; skip <= len(golden); skip++ {
			if matchLines(sample[1:], golden[skip:]) {
				return true
			}
		}
		return false
	}
	return len(golden) > 0 && goldenLine(golden[0]).MatchString(sample[0]) && matchLines(sample[1:], golden[1:])
}

// goldenLine is a golden line as a pattern: what Normalise replaced
// matches any value of its kind.
func goldenLine(line string) *regexp.Regexp {
	p := regexp.QuoteMeta(line)
	// In order: XXXXXXXX before XXXXXX, which is part of it.
	for _, r := range [][2]string{
		{`"HOST"`, `"[^"]*"`},
		{`XXXXXXXX`, `[0-9a-f]{8}`},
		{`XXXXXX`, `[0-9a-f]{6,}`},
		{`/tmp/\.\.\.`, `/tmp/\S*`},
	} {
		p = strings.ReplaceAll(p, r[0], r[1])
	}
	return regexp.MustCompile("^" + p + "$")
}

var againstStep = regexp.MustCompile(` against step (\d+):$`)

func stepOf(header string) string {
	if m := againstStep.FindStringSubmatch(header); m != nil {
		return m[1]
	}
	return ""
}
