package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestWriteBundle checks the generated config.json, unprivileged: the
// runtimes themselves are exercised by the bench.
func TestWriteBundle(t *testing.T) {
	dir := t.TempDir()
	opts := OCIOptions{Rootfs: "/tmp/x/rootfs", Args: []string{"/bin/true"}, CgroupPath: "/stepbox-bench-t", CPUs: 0.5}
	if err := WriteBundle(filepath.Join(dir, "b"), opts); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "b", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("config.json is not JSON: %v", err)
	}
	process := got["process"].(map[string]any)
	if terminal, ok := process["terminal"]; ok && terminal != false {
		t.Errorf("process.terminal = %v, want false or absent", terminal)
	}
	if args := process["args"].([]any); len(args) != 1 || args[0] != "/bin/true" {
		t.Errorf("process.args = %v", args)
	}
	if root := got["root"].(map[string]any); root["path"] != "/tmp/x/rootfs" {
		t.Errorf("root.path = %v", root["path"])
	}
	linux := got["linux"].(map[string]any)
	var types []string
	for _, ns := range linux["namespaces"].([]any) {
		types = append(types, ns.(map[string]any)["type"].(string))
	}
	slices.Sort(types)
	if want := []string{"ipc", "mount", "pid", "uts"}; !slices.Equal(types, want) {
		t.Errorf("namespaces = %v, want %v (those of step 05)", types, want)
	}
	if linux["cgroupsPath"] != "/stepbox-bench-t" {
		t.Errorf("cgroupsPath = %v", linux["cgroupsPath"])
	}
	cpu := linux["resources"].(map[string]any)["cpu"].(map[string]any)
	if cpu["quota"] != 50000.0 || cpu["period"] != 100000.0 {
		t.Errorf("cpu = %v, want quota 50000 period 100000", cpu)
	}
}

func TestBundleWithoutQuotaOrRelativeRootfs(t *testing.T) {
	spec := newOCISpec(OCIOptions{Rootfs: "/r", Args: []string{"/bin/true"}})
	if spec.Linux.Resources != nil {
		t.Errorf("CPUs 0 should set no resources, got %+v", spec.Linux.Resources)
	}
	if err := WriteBundle(t.TempDir(), OCIOptions{Rootfs: "rootfs"}); err == nil {
		t.Error("a relative rootfs should be refused: runtimes resolve it against the bundle")
	}
}
