package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// TestWritePNG draws a chart from made-up rows and checks it decodes.
func TestWritePNG(t *testing.T) {
	res := &Result{Iterations: 3, Rows: []RowResult{
		{Name: "chroot", Summary: Summary{N: 3, Min: 4, P10: 4, P25: 4.1, Median: 4.2, P75: 4.3, P90: 4.5, Max: 5}, SamplesMS: []float64{4, 4.2, 5}, VsChroot: 1, VsUnshare: 0.4},
		{Name: "runc", Summary: Summary{N: 3, Min: 60, P10: 60, P25: 62, Median: 64, P75: 66, P90: 70, Max: 80}, SamplesMS: []float64{60, 64, 80}, VsChroot: 15, VsUnshare: 6},
		{Name: "crun", Note: "not installed"},
	}}
	path := filepath.Join(t.TempDir(), "c.png")
	if err := WritePNG(res, path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if want := topMargin + 2*rowHeight + axisHeight; img.Bounds().Dy() != want {
		t.Errorf("height %d, want %d (two measured rows)", img.Bounds().Dy(), want)
	}
}
