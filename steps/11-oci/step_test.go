package main

import (
	"testing"

	"github.com/stepbox/stepbox/harness"
)

// TestStep proves on this kernel that the step does what its README
// claims, with the checks of this step and every earlier one.
func TestStep(t *testing.T) { harness.TestStep(t, 11) }
