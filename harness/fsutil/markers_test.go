package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceBetween(t *testing.T) {
	const begin, end = "<!-- t:begin -->", "<!-- t:end -->"
	text := "intro\n" + begin + "\nold\n" + end + "\nafter\n"
	got, err := ReplaceBetween(text, begin, end, "| new |\n")
	if want := "intro\n" + begin + "\n| new |\n" + end + "\nafter\n"; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"no markers", begin + "\nno end"} {
		if _, err := ReplaceBetween(bad, begin, end, "x"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	path := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := RewriteBetween(path, begin, end, "x\n"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); string(data) != "intro\n"+begin+"\nx\n"+end+"\nafter\n" {
		t.Fatalf("file: %q", data)
	}
}
