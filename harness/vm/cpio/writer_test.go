package cpio

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriterRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	require.NoError(t, w.CharDev("/dev/console", 0o600, 5, 1))
	require.NoError(t, w.File("bin/a", 0o755, []byte("hello")))
	require.NoError(t, w.Symlink("bin/sh", "/bin/busybox"))
	require.NoError(t, w.Dir("tmp", 0o1777))
	require.NoError(t, w.FileFrom("x/y/z", 0o644, 3, strings.NewReader("abcdef")))
	require.NoError(t, w.File("empty", 0o644, nil))
	require.NoError(t, w.Close())

	got, err := List(buf.Bytes())
	require.NoError(t, err)
	want := []Entry{
		{"dev", TypeDir | 0o755, 0, 0, ""},
		{"dev/console", TypeChar | 0o600, 5, 1, ""},
		{"bin", TypeDir | 0o755, 0, 0, ""},
		{"bin/a", TypeFile | 0o755, 0, 0, "hello"},
		{"bin/sh", TypeSymlink | 0o777, 0, 0, "/bin/busybox"},
		{"tmp", TypeDir | 0o1777, 0, 0, ""},
		{"x", TypeDir | 0o755, 0, 0, ""},
		{"x/y", TypeDir | 0o755, 0, 0, ""},
		{"x/y/z", TypeFile | 0o644, 0, 0, "abc"},
		{"empty", TypeFile | 0o644, 0, 0, ""},
	}
	assert.Equal(t, want, got)
}

func TestWriterRefusesDuplicatesAndBadNames(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	require.NoError(t, w.Dir("a", 0o755))
	assert.True(t, w.Has("/a"))
	assert.ErrorContains(t, w.Dir("a/", 0o755), "added twice")
	assert.Error(t, w.File("/", 0o644, nil))
	assert.ErrorContains(t, w.FileFrom("short", 0o644, 10, strings.NewReader("abc")), "wrote 3 of 10")
}

// A real cpio reads the archive the same way (busybox-static has one).
func TestBusyboxListsArchive(t *testing.T) {
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Skip("no busybox on PATH")
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for i := range 20 {
		require.NoError(t, w.File(fmt.Sprintf("d/f%d", i), 0o644, bytes.Repeat([]byte("x"), i)))
	}
	require.NoError(t, w.CharDev("dev/null", 0o666, 1, 3))
	require.NoError(t, w.Close())
	file := t.TempDir() + "/a.cpio"
	require.NoError(t, os.WriteFile(file, buf.Bytes(), 0o644))
	cmd := exec.Command(busybox, "cpio", "-t", "-F", file)
	out, err := cmd.Output() // stderr has the "N blocks" line
	require.NoError(t, err, string(out))
	names := strings.Fields(string(out))
	assert.Contains(t, names, "d/f19")
	assert.Contains(t, names, "dev/null")
	assert.Len(t, names, 23)
}
