// Command probe is run as a container's command by the stepbox harness.
// It reports what it can see, or plays a simple part the checks need
// (see probe.Main for its command line).
//
// It is built static (CGO_ENABLED=0) so it runs in any root filesystem.
package main

import "github.com/stepbox/stepbox/harness/probe"

func main() { probe.Main() }
