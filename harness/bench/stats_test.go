package bench

import (
	"math"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		p, want float64
	}{
		{0, 1}, {100, 10}, {50, 5.5}, {10, 1.9}, {90, 9.1}, {-5, 1}, {150, 10},
	}
	for _, c := range cases {
		if got := Percentile(sorted, c.p); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := Percentile([]float64{7}, 90); got != 7 {
		t.Errorf("Percentile of one value = %v, want 7", got)
	}
	if got := Percentile(nil, 50); !math.IsNaN(got) {
		t.Errorf("Percentile of nothing = %v, want NaN", got)
	}
}

func TestSummarizeUnsortedMilliseconds(t *testing.T) {
	ds := []time.Duration{5 * time.Millisecond, 1 * time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond}
	s := Summarize(ds)
	if s.N != 5 || s.Min != 1 || s.Max != 5 || s.Median != 3 {
		t.Errorf("Summarize = %+v, want n=5 min=1 median=3 max=5", s)
	}
	if math.Abs(s.P10-1.4) > 1e-9 || math.Abs(s.P90-4.6) > 1e-9 {
		t.Errorf("p10, p90 = %v, %v, want 1.4, 4.6", s.P10, s.P90)
	}
	if Summarize(nil).N != 0 {
		t.Error("Summarize(nil) should be empty")
	}
}

func TestRatio(t *testing.T) {
	if got := Ratio(10, 4); got != 2.5 {
		t.Errorf("Ratio(10, 4) = %v, want 2.5", got)
	}
	for _, b := range []float64{0, -1, math.NaN()} {
		if got := Ratio(10, b); got != 0 {
			t.Errorf("Ratio(10, %v) = %v, want 0 (n/a)", b, got)
		}
	}
}

func TestMedianInt64(t *testing.T) {
	if got := medianInt64([]int64{9, 1, 5}); got != 5 {
		t.Errorf("median = %d, want 5", got)
	}
	if got := medianInt64([]int64{4, 1, 3, 2}); got != 2 {
		t.Errorf("median = %d, want 2 (rounded down)", got)
	}
	if got := medianInt64(nil); got != 0 {
		t.Errorf("median of nothing = %d, want 0", got)
	}
}
