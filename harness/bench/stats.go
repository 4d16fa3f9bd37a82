package bench

import (
	"math"
	"slices"
	"time"
)

// Summary condenses one row's latencies. The machine is noisy, so the
// verdict is always read from the median and the p10..p90 spread, and
// compared with other rows measured in the same run, never from one
// absolute number.
type Summary struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	P10    float64 `json:"p10_ms"`
	P25    float64 `json:"p25_ms"`
	Median float64 `json:"median_ms"`
	P75    float64 `json:"p75_ms"`
	P90    float64 `json:"p90_ms"`
	Max    float64 `json:"max_ms"`
}

// Summarize computes the summary of durations; an empty input gives a
// zero Summary (N == 0), which callers treat as "no data".
func Summarize(ds []time.Duration) Summary {
	if len(ds) == 0 {
		return Summary{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	slices.Sort(ms)
	return Summary{
		N:      len(ms),
		Min:    ms[0],
		P10:    Percentile(ms, 10),
		P25:    Percentile(ms, 25),
		Median: Percentile(ms, 50),
		P75:    Percentile(ms, 75),
		P90:    Percentile(ms, 90),
		Max:    ms[len(ms)-1],
	}
}

// Percentile returns the p-th percentile (0..100) of sorted values, by
// linear interpolation between the two nearest ranks (the "R-7" method
// of R and NumPy's default), so the median of an even count is the mean
// of the middle two. It returns NaN for no values.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	p = min(max(p, 0), 100)
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	frac := rank - float64(lo)
	return sorted[lo] + (sorted[hi]-sorted[lo])*frac
}

// Ratio is a/b, or 0 when b is not a usable reference (missing row,
// zero); 0 reads as "n/a" in the table and JSON consumers.
func Ratio(a, b float64) float64 {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	return a / b
}

// medianInt64 is the median of integer samples (memory in KiB), rounded
// down; 0 for none.
func medianInt64(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
