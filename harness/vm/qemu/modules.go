package qemu

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GuestModules are the kernel modules the steps need that Debian builds
// as modules. A host's kernel loads most of them on demand by running
// modprobe; the guest has no modprobe database, so the init loads them
// all up front. Dependencies (bridge needs stp and llc) are added.
var GuestModules = []string{
	"overlay",        // image layers
	"veth", "bridge", // container networking
	// The netlink library opens NETLINK_XFRM and NETLINK_NETFILTER
	// sockets in every handle: without these, "protocol not supported".
	"xfrm_user", "nfnetlink",
	// nftables NAT from step 07: masquerade for the way out, dnat on
	// "fib daddr type local" for published ports (nf_nat, nf_conntrack
	// and nft_fib come as their dependencies). libcrc32c needs the
	// "crc32c" algorithm, a soft dependency that names an alias, so its
	// module is listed here.
	"crc32c_generic", "nf_tables", "nft_chain_nat", "nft_masq", "nft_nat", "nft_fib_ipv4",
	// /tmp on ext4 in a loop device: ext4 can be idmapped on 6.1, tmpfs
	// only from 6.3 (step 08 idmaps the image).
	"loop", "ext4",
}

// Module is one module file to load.
type Module struct {
	Name string // e.g. "bridge"
	Path string // the .ko on the host
}

// ResolveModules returns the modules named, with their dependencies, in
// an order that loads each after what it depends on. The .deb has no
// modules.dep (depmod runs at install time), so the dependencies are read
// from each module's own .modinfo section. A module built into the kernel
// is left out: there is nothing to load.
func ResolveModules(modulesDir string, names []string) ([]Module, error) {
	index, err := indexModules(modulesDir)
	if err != nil {
		return nil, err
	}
	builtin := builtinModules(modulesDir)
	var order []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(name, from string) error
	visit = func(name, from string) error {
		name, optional := strings.CutPrefix(canonical(name), "?")
		switch {
		case state[name] == 2 || builtin[name]:
			return nil
		case state[name] == 1:
			return fmt.Errorf("module dependency cycle through %s", name)
		}
		path, ok := index[name]
		if !ok && optional {
			return nil
		}
		if !ok {
			return fmt.Errorf("module %s%s: no %s.ko under %s and not built in", name, from, name, modulesDir)
		}
		state[name] = 1
		deps, err := moduleDepends(path)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d, " (needed by "+name+")"); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, Module{Name: name, Path: path})
		return nil
	}
	for _, n := range names {
		if err := visit(n, ""); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// canonical is the kernel's own spelling: dashes and underscores in module
// names are the same, and the kernel uses underscores.
func canonical(name string) string { return strings.ReplaceAll(name, "-", "_") }

// indexModules maps module names to their .ko files.
func indexModules(dir string) (map[string]string, error) {
	index := map[string]string{}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name, ok := strings.CutSuffix(d.Name(), ".ko"); ok && !d.IsDir() {
			index[canonical(name)] = path
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing kernel modules: %w", err)
	}
	return index, nil
}

// builtinModules reads modules.builtin: lines like kernel/net/unix/unix.ko.
func builtinModules(dir string) map[string]bool {
	builtin := map[string]bool{}
	data, _ := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	for _, line := range strings.Fields(string(data)) {
		builtin[canonical(strings.TrimSuffix(filepath.Base(line), ".ko"))] = true
	}
	return builtin
}

// moduleDepends reads "depends=a,b" from a module's .modinfo section,
// and the "softdep=pre: x y" modules to load first; a soft dependency that
// names no module file (an alias) is left out by the caller.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("module %s has no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("reading .modinfo of %s: %w", path, err)
	}
	var deps []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			deps = append(deps, strings.Split(string(v), ",")...)
		}
		if v, ok := bytes.CutPrefix(kv, []byte("softdep=")); ok {
			deps = append(deps, softPre(string(v))...)
		}
	}
	return deps, nil
}

// softPre returns the "pre:" names of a softdep value like
// "pre: crc32c post: foo", each prefixed with "?" to mark it optional.
func softPre(v string) []string {
	var names []string
	pre := false
	for _, f := range strings.Fields(v) {
		switch {
		case f == "pre:":
			pre = true
		case strings.HasSuffix(f, ":"):
			pre = false
		case pre:
			names = append(names, "?"+f)
		}
	}
	return names
}
