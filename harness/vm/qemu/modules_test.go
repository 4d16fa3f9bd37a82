package qemu

import (
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// With a guest's pinned kernel in the cache (after one `make
// vm-test-qemu`, with VM_ARCH=arm64 for arm64's), the modules resolve
// with their dependencies first.
func TestResolveModulesOrdersDependenciesFirst(t *testing.T) {
	for _, name := range ArchNames() {
		t.Run(name, func(t *testing.T) { resolveGuestModules(t, name) })
	}
}

func resolveGuestModules(t *testing.T, arch string) {
	cache, err := DefaultCache()
	require.NoError(t, err)
	a, err := LookArch(arch)
	require.NoError(t, err)
	dir := cache + "/kernel-" + a.Kernel.Package + "_" + a.Kernel.Version
	k, err := findKernel(dir)
	if err != nil {
		t.Skipf("the pinned %s kernel is not unpacked in %s (run make vm-test-qemu VM_ARCH=%s once): %v", arch, dir, arch, err)
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
	assert.Less(t, slices.Index(names, "nf_nat"), slices.Index(names, "nft_nat"))
	assert.Less(t, slices.Index(names, "nft_fib"), slices.Index(names, "nft_fib_ipv4"), "published ports match fib daddr type local")
	assert.Less(t, slices.Index(names, "jbd2"), slices.Index(names, "ext4"))
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
