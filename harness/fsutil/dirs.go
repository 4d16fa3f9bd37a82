package fsutil

import (
	"io/fs"
	"path/filepath"
	"slices"
)

// Subdirs lists top and every directory below it, top first (what cannot
// be read is left out). Reversed, it is the order to remove a tree of
// cgroups in: rmdir takes only an empty cgroup, so children go first.
func Subdirs(top string) []string {
	var dirs []string
	_ = filepath.WalkDir(top, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	return dirs
}

// DeepestFirst is Subdirs(top) with every directory before its parent.
func DeepestFirst(top string) []string {
	dirs := Subdirs(top)
	slices.Reverse(dirs)
	return dirs
}
