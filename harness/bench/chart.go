package bench

import "errors"

// WritePNG draws the latency distribution per row.
func WritePNG(res *Result, path string) error { return errors.New("not yet") }
