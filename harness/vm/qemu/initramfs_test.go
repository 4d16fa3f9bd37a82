package qemu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/vm/cpio"
	"github.com/stepbox/stepbox/harness/vm/guest"
)

// The image holds what the kernel and the init need, as archive entries
// (device nodes too), with a manifest that points at real paths in it.
func TestInitramfsHasWhatTheGuestNeeds(t *testing.T) {
	busybox, err := engine.FindBusybox()
	if err != nil {
		t.Skip(err)
	}
	root, err := engine.ModuleRoot()
	require.NoError(t, err)
	work := t.TempDir()
	write := func(name string) string {
		p := filepath.Join(work, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(name), 0o755))
		return p
	}
	built := &Built{
		Init:     write("init"),
		Tests:    []TestPackage{{Name: "steps/03-pid-mnt", Bin: write("tests/steps_03-pid-mnt.test")}},
		Prebuilt: filepath.Dir(write("prebuilt/step-03")),
	}
	mods := []Module{{Name: "llc", Path: write("llc.ko")}}
	o := &Options{TestTimeout: time.Minute}
	img := &Image{Built: built, Busybox: busybox, Modules: mods, Root: root, Manifest: o.manifest(built, mods)}
	file := filepath.Join(work, "initramfs.cpio")
	require.NoError(t, WriteInitramfs(file, img))

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	entries, err := cpio.List(data)
	require.NoError(t, err)
	byName := map[string]cpio.Entry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	assert.Equal(t, cpio.Entry{Name: "dev/console", Mode: cpio.TypeChar | 0o600, Major: 5, Minor: 1}, byName["dev/console"])
	assert.Equal(t, "init", byName["init"].Data)
	assert.Equal(t, uint32(cpio.TypeFile|0o755), byName["init"].Mode)
	assert.Equal(t, uint32(cpio.TypeFile|0o755), byName["bin/busybox"].Mode)
	assert.NotContains(t, byName, "bin/sh", "the guest's init makes the applet links, the host may not run busybox")
	assert.Equal(t, uint32(cpio.TypeDir|0o1777), byName["tmp"].Mode)
	assert.Equal(t, uint32(cpio.TypeDir|0o755), byName["mnt"].Mode, "tests mount over /mnt, as on any host")

	var m guest.Manifest
	for _, e := range entries {
		if "/"+e.Name == guest.ManifestPath {
			require.NoError(t, jsonUnmarshal(e.Data, &m))
		}
	}
	require.Len(t, m.Tests, 1)
	for _, p := range []string{m.Tests[0].Bin, m.Tests[0].Dir + "/step_test.go", guest.SourceDir + "/go.mod", guest.PrebuiltDir + "/step-03", guest.ModulesDir + "/llc.ko"} {
		assert.Contains(t, byName, strings.TrimPrefix(p, "/"))
	}
	assert.Equal(t, []string{"llc"}, m.Modules)
	assert.True(t, slices.Contains(m.Env, "STEPBOX_REQUIRE_PRIVILEGED=1"), m.Env)
	assert.True(t, slices.Contains(m.Env, "STEPBOX_PREBUILT="+guest.PrebuiltDir), m.Env)
	assert.Contains(t, m.Tests[0].Args, "-test.v")
}

// A crashed or silent guest must end qemu rather than hang the run, on
// each architecture's board and serial port, with the accelerator chosen.
func TestQemuArgsEndTheVMOnPanic(t *testing.T) {
	cases := []struct {
		arch, accel string
		want        []string
	}{
		{"amd64", "tcg", []string{"-machine pc,accel=tcg", "-cpu max ", "console=ttyS0"}},
		{"amd64", "kvm", []string{"-machine pc,accel=kvm", "-cpu max "}},
		{"arm64", "tcg", []string{"-machine virt,accel=tcg", "-cpu max,pauth-impdef=on ", "console=ttyAMA0"}},
		{"arm64", "kvm", []string{"-machine virt,accel=kvm", "-cpu max "}},
	}
	for _, c := range cases {
		a, err := LookArch(c.arch)
		require.NoError(t, err)
		m := &Machine{Arch: a, Accel: Accel{Name: c.accel}, Kernel: "k", Initramfs: "i", MemoryMB: 1024, CPUs: 2}
		args := strings.Join(m.Args(), " ")
		for _, want := range append(c.want, "-no-reboot", "-nographic", "-kernel k", "-initrd i", "-smp 2", "-m 1024", "panic=-1") {
			assert.Contains(t, args, want, "%s under %s", c.arch, c.accel)
		}
	}
	_, err := LookArch("riscv64")
	assert.ErrorContains(t, err, "amd64, arm64")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

// --harness-run narrows the harness package only, and --own-checks
// reaches every step's test through the environment.
func TestManifestNarrowsTheHarnessOnly(t *testing.T) {
	built := &Built{Tests: []TestPackage{{Name: "harness", Bin: "h.test"}, {Name: "steps/03-pid-mnt", Bin: "s.test"}}}
	o := &Options{TestTimeout: time.Minute, HarnessRun: "^TestChecksRejectMutants$", OwnChecks: true}
	m := o.manifest(built, nil)
	require.Len(t, m.Tests, 2)
	assert.Contains(t, m.Tests[0].Args, "-test.run=^TestChecksRejectMutants$")
	for _, a := range m.Tests[1].Args {
		assert.NotContains(t, a, "-test.run", "a step's test is not narrowed by --harness-run")
	}
	assert.True(t, slices.Contains(m.Env, harness.StepChecksEnv+"=own"), m.Env)
}
