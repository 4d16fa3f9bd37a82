package cpio

import (
	"fmt"
	"strconv"
)

// Entry is one entry of an archive, as List reads it back.
type Entry struct {
	Name         string
	Mode         uint32
	Major, Minor uint32 // of a device node
	Data         string // file content or link target
}

// List reads a whole newc archive back, checking the magic, the NUL after
// each name, the 4-byte alignment, and that the trailer ends it. The tests
// use it to see an initramfs as the kernel will.
func List(b []byte) ([]Entry, error) {
	var out []Entry
	off := 0
	for {
		if off+110 > len(b) {
			return nil, fmt.Errorf("cpio: truncated header at %d", off)
		}
		if string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("cpio: bad magic %q at %d", b[off:off+6], off)
		}
		var f [13]uint32
		for i := range f {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("cpio: field %d at %d: %w", i, off, err)
			}
			f[i] = uint32(v)
		}
		mode, size, major, minor, namesize := f[1], int(f[6]), f[9], f[10], int(f[11])
		if namesize < 1 || off+110+namesize > len(b) || b[off+110+namesize-1] != 0 {
			return nil, fmt.Errorf("cpio: bad name at %d", off)
		}
		name := string(b[off+110 : off+110+namesize-1])
		off = align4(off + 110 + namesize)
		if off+size > len(b) {
			return nil, fmt.Errorf("cpio: %s: truncated data", name)
		}
		data := string(b[off : off+size])
		off = align4(off + size)
		if name == trailer {
			if off != len(b) {
				return nil, fmt.Errorf("cpio: %d bytes after the trailer", len(b)-off)
			}
			return out, nil
		}
		out = append(out, Entry{name, mode, major, minor, data})
	}
}

func align4(n int) int { return (n + 3) &^ 3 }
