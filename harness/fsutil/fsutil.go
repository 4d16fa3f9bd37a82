// Package fsutil holds the few file operations the harness, the QEMU
// backend and the guest's init all need. It imports nothing of stepbox, so
// the small static programs that run in a guest can use it too.
package fsutil

import (
	"debug/elf"
	"io"
	"os"
)

// CopyFile copies a regular file to dst, replacing any file there.
func CopyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// IsStatic reports whether an ELF binary needs no dynamic loader, and so
// runs in a root filesystem or a guest without a libc.
func IsStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}
