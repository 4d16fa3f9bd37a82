package engine

import (
	"os"
	"path/filepath"
	"strings"
)

// MultisetMinus returns the items of a not matched by an item of b.
func MultisetMinus(a, b []string) []string {
	left := map[string]int{}
	for _, s := range b {
		left[s]++
	}
	var extra []string
	for _, s := range a {
		if left[s] > 0 {
			left[s]--
			continue
		}
		extra = append(extra, s)
	}
	return extra
}

// ShortList is the first n of xs for a failure line, "..." for the rest.
func ShortList(xs []string, n int) string {
	s := "[" + strings.Join(xs[:min(n, len(xs))], " ")
	if len(xs) > n {
		s += " ..."
	}
	return s + "]"
}

// FirstLines is the first n lines of s, "..." for the rest.
func FirstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// DirNames lists the names in dir (none when it cannot be read).
func DirNames(dir string) []string {
	entries, _ := os.ReadDir(dir)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// Layers lists the containers' layer directories left in a state dir.
func Layers(stateDir string) []string { return DirNames(filepath.Join(stateDir, "containers")) }
