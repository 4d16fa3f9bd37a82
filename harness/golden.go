package harness

import (
	"embed"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stepbox/stepbox/harness/engine"
)

// Golden transcripts: what a learner sees from stepcheck, for every
// reference step and one known-bad program per step, kept in
// harness/testdata/transcripts and compared in the tests. They are
// embedded, so a test binary compares them in a VM guest too, with no
// source tree there. `make golden` (go test ... -update) rewrites them.

//go:embed testdata/transcripts
var goldenFS embed.FS

// goldenDir is where -update writes, relative to the module root.
const goldenDir = "harness/testdata/transcripts"

// updateGolden is the -update flag of every test binary that imports the
// harness; other programs never see it.
var updateGolden = func() *bool {
	if !testing.Testing() {
		return new(bool)
	}
	return flag.Bool("update", false, "rewrite the golden transcripts in "+goldenDir)
}()

// randomParts are what differs from one run to the next in a
// transcript, each with what it is replaced by: the hostnames and
// names the harness makes up, and the temporary directories.
var randomParts = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`\bsbx-[0-9a-f]{8}\b`), "sbx-XXXXXXXX"},
	{regexp.MustCompile(`\bstepbox-([a-z]+)-[0-9a-f]{6,}\b`), "stepbox-$1-XXXXXX"},
	{regexp.MustCompile(`\boci-[0-9a-f]{8}\b`), "oci-XXXXXXXX"},
	{regexp.MustCompile(`\b[0-9a-f]{12}\b`), "ID"},
	{regexp.MustCompile(`\b(cgroup|ipc|mnt|net|pid|user|uts|time):\[\d+\]`), "$1:[N]"},
	{regexp.MustCompile(`\bfe80::[0-9a-f:]+/64\b`), "fe80::X/64"}, // from a random MAC
	{regexp.MustCompile(`/tmp/[^\s"':,)]+`), "/tmp/..."},
}

// Normalise replaces the parts of a transcript that differ between runs,
// and the host's hostname, which differs between machines.
func Normalise(transcript string) string {
	for _, p := range randomParts {
		transcript = p.re.ReplaceAllString(transcript, p.with)
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		transcript = strings.ReplaceAll(transcript, strconv.Quote(host), `"HOST"`)
	}
	return transcript
}

// CompareGolden fails t when transcript, normalised, is not the golden
// transcript name; with -update it rewrites the golden file instead.
func CompareGolden(t testing.TB, name, transcript string) {
	t.Helper()
	got := Normalise(transcript)
	if *updateGolden {
		root, err := engine.ModuleRoot()
		if err == nil {
			err = os.WriteFile(filepath.Join(root, goldenDir, name), []byte(got), 0o644)
		}
		if err != nil {
			t.Fatalf("rewriting the golden transcript %s: %v", name, err)
		}
		t.Logf("rewrote %s/%s", goldenDir, name)
		return
	}
	want, err := fs.ReadFile(goldenFS, "testdata/transcripts/"+name)
	if errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("no golden transcript %s/%s: make it with `make golden`", goldenDir, name)
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("the transcript differs from %s/%s (- golden, + now); if the change is meant, `make golden` rewrites it:\n%s", goldenDir, name, diff)
	}
}

// GoldenTranscripts are the golden transcripts, by file name.
func GoldenTranscripts() (map[string]string, error) {
	entries, err := fs.ReadDir(goldenFS, "testdata/transcripts")
	if err != nil {
		return nil, err
	}
	all := map[string]string{}
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".txt" {
			continue
		}
		data, err := fs.ReadFile(goldenFS, "testdata/transcripts/"+e.Name())
		if err != nil {
			return nil, err
		}
		all[e.Name()] = string(data)
	}
	return all, nil
}
