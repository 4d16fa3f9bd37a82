package fsutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDeepestFirst(t *testing.T) {
	top := t.TempDir()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(top, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(top, "a", "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := DeepestFirst(top)
	want := []string{filepath.Join(top, "c"), filepath.Join(top, "a", "b"), filepath.Join(top, "a"), top}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if len(DeepestFirst(filepath.Join(top, "none"))) != 0 {
		t.Fatal("a missing directory has no subdirectories")
	}
}
