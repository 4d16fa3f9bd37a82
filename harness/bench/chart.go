package bench

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
)

// Chart geometry, in pixels.
const (
	chartWidth  = 1160
	labelWidth  = 110 // row names, left
	ratioWidth  = 310 // median and ratios, right
	topMargin   = 56
	rowHeight   = 44
	axisHeight  = 56
	plotLeft    = labelWidth
	plotRight   = chartWidth - ratioWidth
	sampleAlpha = 70
)

var (
	colInk    = color.RGBA{30, 30, 30, 255}
	colGrid   = color.RGBA{222, 222, 222, 255}
	colBox    = color.RGBA{120, 160, 220, 255}
	colMedian = color.RGBA{200, 40, 40, 255}
	colDot    = color.RGBA{40, 40, 40, sampleAlpha}
)

// WritePNG draws the latency distribution of each measured row: every
// run as a faint dot, a box from p25 to p75, whiskers from p10 to p90
// and the median in red, on a logarithmic millisecond axis (the rows
// span more than a factor of ten), with each median and its ratios to
// chroot and unshare on the right.
func WritePNG(res *Result, path string) error {
	var rows []RowResult
	for _, r := range res.Rows {
		if r.N > 0 {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("no measured rows to draw")
	}
	height := topMargin + len(rows)*rowHeight + axisHeight
	img := image.NewRGBA(image.Rect(0, 0, chartWidth, height))
	fillRect(img, 0, 0, chartWidth, height, color.White)
	lo, hi := sampleRange(rows)
	x := func(ms float64) int {
		f := (math.Log(ms) - math.Log(lo)) / (math.Log(hi) - math.Log(lo))
		return plotLeft + int(f*float64(plotRight-plotLeft))
	}
	title := fmt.Sprintf("start-to-exit latency of /bin/true, ms (log scale), %d interleaved runs per row", res.Iterations)
	drawText(img, 10, 14, title, 2, colInk)
	drawAxis(img, x, lo, hi, height)
	drawText(img, plotRight+10, topMargin-14, "median xchroot xunshr", 2, colInk)
	for i, r := range rows {
		drawRow(img, x, topMargin+i*rowHeight, r)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating %s: %w", path, err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// sampleRange is the axis range: every sample fits, with a margin.
func sampleRange(rows []RowResult) (lo, hi float64) {
	lo, hi = math.Inf(1), 0
	for _, r := range rows {
		lo, hi = min(lo, r.Min), max(hi, r.Max)
	}
	return max(lo/1.15, 0.01), max(hi*1.15, lo*2)
}

// drawAxis draws vertical grid lines at 1, 2, 5 x 10^k ms with labels.
func drawAxis(img *image.RGBA, x func(float64) int, lo, hi float64, height int) {
	bottom := height - axisHeight
	for exp := math.Floor(math.Log10(lo)); exp <= math.Ceil(math.Log10(hi)); exp++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, exp)
			if v < lo || v > hi {
				continue
			}
			px := x(v)
			fillRect(img, px, topMargin-6, 1, bottom-topMargin+6, colGrid)
			label := fmt.Sprintf("%g", v)
			drawText(img, px-textWidth(label, 2)/2, bottom+8, label, 2, colInk)
		}
	}
	fillRect(img, plotLeft, bottom, plotRight-plotLeft, 1, colInk)
	drawText(img, plotLeft, bottom+32, "ms; box p25-p75, whiskers p10-p90, red: median, dots: runs", 2, colInk)
}

// drawRow draws one row's label, samples, box, whiskers, median and
// ratios, with its band from y to y+rowHeight.
func drawRow(img *image.RGBA, x func(float64) int, y int, r RowResult) {
	mid := y + rowHeight/2
	drawText(img, 8, mid-7, r.Name, 2, colInk)
	for i, ms := range r.SamplesMS {
		// Spread dots vertically by index so repeated values stay visible.
		jitter := (i*7)%(rowHeight-12) - (rowHeight-12)/2
		blend(img, x(ms), mid+jitter, colDot)
	}
	fillRect(img, x(r.P10), mid, x(r.P90)-x(r.P10)+1, 2, colInk)
	fillRect(img, x(r.P10), mid-8, 2, 17, colInk)
	fillRect(img, x(r.P90), mid-8, 2, 17, colInk)
	boxW := max(x(r.P75)-x(r.P25), 1)
	fillRect(img, x(r.P25), mid-12, boxW, 25, colBox)
	fillRect(img, x(r.Median)-1, mid-14, 3, 29, colMedian)
	label := fmt.Sprintf("%6.1f %6s %6s", r.Median, ratio(r.VsChroot), ratio(r.VsUnshare))
	drawText(img, plotRight+10, mid-7, label, 2, colInk)
}

// blend draws a 3x3 translucent dot, so dense clusters read darker.
func blend(img *image.RGBA, px, py int, c color.RGBA) {
	a := float64(c.A) / 255
	for yy := py - 1; yy <= py+1; yy++ {
		for xx := px - 1; xx <= px+1; xx++ {
			if !(image.Point{xx, yy}.In(img.Bounds())) {
				continue
			}
			o := img.RGBAAt(xx, yy)
			img.SetRGBA(xx, yy, color.RGBA{
				R: uint8(float64(o.R)*(1-a) + float64(c.R)*a),
				G: uint8(float64(o.G)*(1-a) + float64(c.G)*a),
				B: uint8(float64(o.B)*(1-a) + float64(c.B)*a),
				A: 255,
			})
		}
	}
}
