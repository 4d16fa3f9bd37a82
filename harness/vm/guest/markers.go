package guest

import (
	"fmt"
	"strconv"
	"strings"
)

// Marker lines the init prints on the console, each on a line of its own.
// The host trusts only lines that start with one of these, so test output
// can go to the same console unchanged.
const (
	MarkBooted = "STEPBOX-VM-BOOTED" // uptime=S switchroot=S: init is ready to run tests
	MarkBegin  = "STEPBOX-VM-BEGIN"  // NAME: a test binary starts
	MarkEnd    = "STEPBOX-VM-END"    // NAME pass|fail exit=N seconds=S
	MarkError  = "STEPBOX-VM-ERROR"  // MESSAGE: the init itself failed
	MarkResult = "STEPBOX-VM-RESULT" // pass=N fail=M: the last line
)

// BootedLine says the init is ready, uptime seconds after the kernel
// started, of which switchRoot seconds went to moving the root to a tmpfs.
func BootedLine(uptime, switchRoot float64) string {
	return fmt.Sprintf("%s uptime=%.1f switchroot=%.1f", MarkBooted, uptime, switchRoot)
}

// BeginLine opens a test binary's section of the console.
func BeginLine(name string) string { return MarkBegin + " " + name }

// EndLine closes a test binary's section with its outcome.
func EndLine(name string, pass bool, exit int, seconds float64) string {
	return fmt.Sprintf("%s %s %s exit=%d seconds=%.1f", MarkEnd, name, word(pass), exit, seconds)
}

// ErrorLine reports a failure of the init itself.
func ErrorLine(err error) string { return MarkError + " " + oneLine(err.Error()) }

// ResultLine is the final, machine-readable summary.
func ResultLine(pass, fail int) string {
	return fmt.Sprintf("%s pass=%d fail=%d", MarkResult, pass, fail)
}

func word(pass bool) string {
	if pass {
		return "pass"
	}
	return "fail"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Outcome is one test binary's END line.
type Outcome struct {
	Name    string
	Pass    bool
	Exit    int
	Seconds float64
}

// Summary is what the host learned from the console.
type Summary struct {
	Booted   bool
	Uptime   float64   // seconds from kernel start to the init being ready, as the guest saw it
	Outcomes []Outcome // one per finished test binary
	Errors   []string  // STEPBOX-VM-ERROR messages
	Result   bool      // a RESULT line was seen
	Pass     int
	Fail     int
	current  string // the test binary between its BEGIN and END lines
}

// noTests is what a Go test binary prints, and then passes, when its
// -test.run pattern matches no test.
const noTests = "testing: warning: no tests to run"

// Feed reads one console line into the summary. Lines that are not
// markers are ignored; a carriage return from the tty is dropped.
func (s *Summary) Feed(line string) {
	line = strings.TrimRight(line, "\r\n")
	word, rest, _ := strings.Cut(line, " ")
	fields := strings.Fields(rest)
	switch word {
	case MarkBooted:
		s.Booted = true
		s.Uptime = floatField(fields, "uptime")
	case MarkBegin:
		s.current = rest
	case MarkEnd:
		s.current = ""
		if len(fields) >= 2 {
			s.Outcomes = append(s.Outcomes, Outcome{
				Name:    fields[0],
				Pass:    fields[1] == "pass",
				Exit:    int(floatField(fields, "exit")),
				Seconds: floatField(fields, "seconds"),
			})
		}
	case MarkError:
		s.Errors = append(s.Errors, rest)
	case MarkResult:
		s.Result = true
		s.Pass = int(floatField(fields, "pass"))
		s.Fail = int(floatField(fields, "fail"))
	}
	// A binary that ran nothing proved nothing, whatever its exit status.
	if strings.TrimSpace(line) == noTests && s.current != "" {
		s.Errors = append(s.Errors, s.current+": no test matched its -test.run pattern")
	}
}

// OK reports whether the guest reported a result with no failure, at
// least one test, and no init error.
func (s *Summary) OK() bool {
	return s.Result && s.Fail == 0 && s.Pass > 0 && len(s.Errors) == 0
}

// floatField finds key=value among fields; a missing or bad value is -1.
func floatField(fields []string, key string) float64 {
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				return n
			}
		}
	}
	return -1
}
