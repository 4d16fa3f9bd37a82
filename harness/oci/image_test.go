package oci

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The archive is an OCI layout whose index names the image and whose
// one layer holds the rootfs, symbolic links included.
func TestWriteImageArchive(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	require.NoError(t, os.MkdirAll(filepath.Join(rootfs, "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), []byte("not really"), 0o755))
	require.NoError(t, os.Symlink("busybox", filepath.Join(rootfs, "bin", "sh")))
	archive := filepath.Join(dir, "image.tar")
	require.NoError(t, WriteImageArchive(archive, rootfs, "localhost/x:1", []string{"/bin/sh"}))

	files := untar(t, archive)
	require.Contains(t, files, "oci-layout")
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	require.NoError(t, json.Unmarshal(files["index.json"], &index))
	require.Len(t, index.Manifests, 1)
	assert.Equal(t, "localhost/x:1", index.Manifests[0].Annotations["io.containerd.image.name"])
	var manifest struct {
		Layers []descriptor `json:"layers"`
	}
	require.NoError(t, json.Unmarshal(files["blobs/sha256/"+index.Manifests[0].Digest[7:]], &manifest))
	require.Len(t, manifest.Layers, 1)
	layer := files["blobs/sha256/"+manifest.Layers[0].Digest[7:]]
	require.NotNil(t, layer)

	tr := tar.NewReader(bytes.NewReader(layer))
	seen := map[string]string{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		seen[hdr.Name] = hdr.Linkname
		assert.Zero(t, hdr.Uid, hdr.Name)
	}
	assert.Contains(t, seen, "bin/busybox")
	assert.Equal(t, "busybox", seen["bin/sh"])
}

func untar(t *testing.T, path string) map[string][]byte {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	tr := tar.NewReader(bytes.NewReader(data))
	files := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return files
		}
		require.NoError(t, err)
		if hdr.Typeflag == tar.TypeReg {
			files[hdr.Name], _ = io.ReadAll(tr)
		}
	}
}
