package main

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/stepbox/stepbox/harness"
)

// The README holds the markers, and between them a row for every attack.
func TestReadmeHasTheTable(t *testing.T) {
	path, err := defaultReadme()
	require.NoError(t, err)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(data)
	require.Equal(t, 1, strings.Count(text, beginMarker), "%s: the begin marker, once", path)
	require.Equal(t, 1, strings.Count(text, endMarker), "%s: the end marker, once", path)
	_, rest, _ := strings.Cut(text, beginMarker)
	table, _, _ := strings.Cut(rest, endMarker)
	for _, a := range harness.Attacks {
		assert.Contains(t, table, "(`"+a.Name+"`)", "%s: no row for attack %s: run go run ./harness/cmd/attacks", path, a.Name)
	}
}

func TestUsage(t *testing.T) {
	var out, errOut strings.Builder
	assert.Equal(t, 2, run([]string{"extra"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "usage:")
}
