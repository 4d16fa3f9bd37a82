package qemu

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With the pinned kernel in the cache (after one `make vm-test-qemu`),
// the modules resolve with their dependencies first.
func TestResolveModulesOrdersDependenciesFirst(t *testing.T) {
	cache, err := DefaultCache()
	require.NoError(t, err)
	dir := cache + "/kernel-" + KernelPackage + "_" + KernelVersion
	k, err := findKernel(dir)
	if err != nil {
		t.Skipf("the pinned kernel is not unpacked in %s (run make vm-test-qemu once): %v", dir, err)
	}
	mods, err := ResolveModules(k.Modules, GuestModules)
	require.NoError(t, err)
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
		_, err := os.Stat(m.Path)
		assert.NoError(t, err)
	}
	assert.Equal(t, []string{"overlay", "veth", "llc", "stp", "bridge"}, names[:5])
	assert.Less(t, slices.Index(names, "crc32c_generic"), slices.Index(names, "libcrc32c"), "libcrc32c's soft dependency first")
	assert.Less(t, slices.Index(names, "libcrc32c"), slices.Index(names, "nf_tables"))
	assert.Less(t, slices.Index(names, "nf_conntrack"), slices.Index(names, "nft_masq"))
	_, err = ResolveModules(k.Modules, []string{"no_such_module"})
	assert.ErrorContains(t, err, "no_such_module")
	builtin, err := ResolveModules(k.Modules, []string{"unix"})
	require.NoError(t, err)
	assert.Empty(t, builtin, "a built-in module has nothing to load")
}

func TestSoftPre(t *testing.T) {
	assert.Equal(t, []string{"?crc32c"}, softPre("pre: crc32c"))
	assert.Equal(t, []string{"?a", "?b"}, softPre("pre: a b post: c"))
	assert.Empty(t, softPre("post: c"))
}
