// Package cpio writes "newc" cpio archives, the format the Linux kernel
// unpacks as an initramfs. Everything is an archive entry — directories,
// symbolic links and device nodes included — so an initramfs holding
// /dev/console can be made without root: nothing is created on the host.
package cpio

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"strings"
)

// Mode bits of the file types, as stat(2) has them; newc stores them in
// the mode field next to the permissions.
const (
	TypeDir     = 0o040000
	TypeFile    = 0o100000
	TypeSymlink = 0o120000
	TypeChar    = 0o020000
	TypeBlock   = 0o060000
)

// trailer is the name of the entry that ends every archive.
const trailer = "TRAILER!!!"

// Writer writes one archive. Parent directories are added on demand, so
// callers can add "a/b/c" without adding "a" and "a/b" first; every name
// may be added once.
type Writer struct {
	w      *bufio.Writer
	ino    uint32
	seen   map[string]bool
	closed bool
}

// NewWriter starts an archive on w. Close must be called to end it.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: bufio.NewWriterSize(w, 1<<20), seen: map[string]bool{}}
}

// Header is one entry's metadata. Name is relative ("bin/sh"); leading
// slashes are dropped, as the kernel expects.
type Header struct {
	Name         string
	Mode         uint32 // type bits | permissions
	UID, GID     uint32
	Size         int64
	Major, Minor uint32 // of a device node
}

// Dir adds a directory.
func (cw *Writer) Dir(name string, perm uint32) error {
	return cw.add(Header{Name: name, Mode: TypeDir | perm}, nil)
}

// File adds a regular file with the given content.
func (cw *Writer) File(name string, perm uint32, data []byte) error {
	return cw.add(Header{Name: name, Mode: TypeFile | perm, Size: int64(len(data))}, strings.NewReader(string(data)))
}

// FileFrom adds a regular file of size bytes read from r.
func (cw *Writer) FileFrom(name string, perm uint32, size int64, r io.Reader) error {
	return cw.add(Header{Name: name, Mode: TypeFile | perm, Size: size}, r)
}

// Symlink adds a symbolic link to target.
func (cw *Writer) Symlink(name, target string) error {
	return cw.add(Header{Name: name, Mode: TypeSymlink | 0o777, Size: int64(len(target))}, strings.NewReader(target))
}

// CharDev adds a character device node, e.g. /dev/console (5, 1): the
// kernel opens it as init's stdio before any devtmpfs is mounted.
func (cw *Writer) CharDev(name string, perm, major, minor uint32) error {
	return cw.add(Header{Name: name, Mode: TypeChar | perm, Major: major, Minor: minor}, nil)
}

// Has reports whether name is already in the archive.
func (cw *Writer) Has(name string) bool { return cw.seen[clean(name)] }

// Close writes the trailer and flushes. It does not close the underlying
// writer.
func (cw *Writer) Close() error {
	if cw.closed {
		return nil
	}
	cw.closed = true
	if err := cw.header(trailer, Header{}, 1); err != nil {
		return err
	}
	return cw.w.Flush()
}

// add writes one entry, after any missing parent directories.
func (cw *Writer) add(h Header, body io.Reader) error {
	if cw.closed {
		return fmt.Errorf("cpio: adding %s after Close", h.Name)
	}
	name := clean(h.Name)
	if name == "" || name == "." || strings.HasPrefix(name, "../") {
		return fmt.Errorf("cpio: bad entry name %q", h.Name)
	}
	if cw.seen[name] {
		return fmt.Errorf("cpio: %s added twice", name)
	}
	if err := cw.parents(name); err != nil {
		return err
	}
	cw.seen[name] = true
	nlink := uint32(1)
	if h.Mode&0o170000 == TypeDir {
		nlink = 2
	}
	if err := cw.header(name, h, nlink); err != nil {
		return err
	}
	if h.Size > 0 {
		n, err := io.CopyN(cw.w, body, h.Size)
		if err != nil {
			return fmt.Errorf("cpio: %s: wrote %d of %d bytes: %w", name, n, h.Size, err)
		}
	}
	return cw.pad(h.Size)
}

// parents adds, as 0755 directories, the ancestors of name not yet added.
func (cw *Writer) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || cw.seen[dir] {
		return nil
	}
	return cw.add(Header{Name: dir, Mode: TypeDir | 0o755}, nil)
}

// header writes the 110-byte newc header and the padded name. All numbers
// are 8 hex digits; the check field is 0 (it is only for the "crc" format).
func (cw *Writer) header(name string, h Header, nlink uint32) error {
	cw.ino++
	fields := []uint32{
		cw.ino, h.Mode, h.UID, h.GID, nlink, 0, // ino mode uid gid nlink mtime
		uint32(h.Size), 0, 0, h.Major, h.Minor, // size devmajor devminor rdevmajor rdevminor
		uint32(len(name) + 1), 0, // namesize (with the NUL) check
	}
	if h.Size > 0xffffffff {
		return fmt.Errorf("cpio: %s is larger than 4 GiB", name)
	}
	var b strings.Builder
	b.WriteString("070701")
	for _, f := range fields {
		fmt.Fprintf(&b, "%08x", f)
	}
	b.WriteString(name)
	b.WriteByte(0)
	if _, err := cw.w.WriteString(b.String()); err != nil {
		return fmt.Errorf("cpio: writing the header of %s: %w", name, err)
	}
	return cw.pad(int64(b.Len()))
}

// pad aligns the stream to 4 bytes after n bytes of header or data.
func (cw *Writer) pad(n int64) error {
	if r := n % 4; r != 0 {
		_, err := cw.w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}

func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}
