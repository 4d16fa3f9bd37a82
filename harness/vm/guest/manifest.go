// Package guest is the contract between the host side of the QEMU backend
// and the init that runs as PID 1 in the guest: where things are in the
// initramfs, what to run (the manifest), and the marker lines the init
// prints on the serial console for the host to parse.
package guest

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// Paths inside the guest. Everything the host puts in the initramfs lives
// under Root, so it never collides with busybox's applet links.
const (
	Root         = "/stepbox"
	ManifestPath = Root + "/manifest.json"
	TestsDir     = Root + "/tests"    // the compiled test binaries
	PrebuiltDir  = Root + "/prebuilt" // step-NN, probe, mutant-*: $STEPBOX_PREBUILT
	ModulesDir   = Root + "/modules"  // kernel modules, NAME.ko
	SourceDir    = Root + "/src"      // the module's sources, for go.mod and main.go lookups
)

// Manifest tells the init what to load and what to run.
type Manifest struct {
	// Modules are loaded in this order (dependencies first), each from
	// ModulesDir/NAME.ko.
	Modules []string `json:"modules"`
	// Env is added to every test's environment.
	Env []string `json:"env"`
	// Tests run one after the other, in this order.
	Tests []Test `json:"tests"`
	// TestTimeout bounds each test binary; the init kills it after that.
	TestTimeout Duration `json:"test_timeout"`
}

// Test is one compiled test binary and how to run it.
type Test struct {
	Name string   `json:"name"` // e.g. "steps/03-pid-mnt", printed in the markers
	Bin  string   `json:"bin"`  // path in the guest
	Dir  string   `json:"dir"`  // working directory, as `go test` would use
	Args []string `json:"args"` // e.g. -test.v
}

// Duration is a time.Duration that reads and writes as "90s" in JSON.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration as a string like "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a string like "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	d.Duration = v
	return err
}

// ReadManifest reads the manifest from the initramfs.
func ReadManifest(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("parsing the manifest %s: %w", path, err)
	}
	return &m, nil
}
