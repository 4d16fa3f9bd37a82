package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Make is what the Makefile and its mk/*.mk fragments define.
type Make struct {
	Targets  map[string]bool // explicit targets: "test", "check"
	Patterns []string        // pattern targets: "step-%"
	Vars     map[string]bool // variables set or used: "STEP", "BIN"
}

var (
	ruleLine = regexp.MustCompile(`^([A-Za-z0-9_.%/ -]+?)\s*::?(\s|$)`)
	varUse   = regexp.MustCompile(`\$\(([A-Z_][A-Z0-9_]*)[):]`)
	varSet   = regexp.MustCompile(`^([A-Z_][A-Z0-9_]*)\s*[:?+]?=`)
)

// ReadMake reads root/Makefile and root/mk/*.mk.
func ReadMake(root string) (*Make, error) {
	files, _ := filepath.Glob(filepath.Join(root, "mk", "*.mk"))
	files = append([]string{filepath.Join(root, "Makefile")}, files...)
	m := &Make{Targets: map[string]bool{}, Vars: map[string]bool{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, v := range varUse.FindAllStringSubmatch(line, -1) {
				m.Vars[v[1]] = true
			}
			if v := varSet.FindStringSubmatch(line); v != nil {
				m.Vars[v[1]] = true
				continue
			}
			r := ruleLine.FindStringSubmatch(line)
			if r == nil || strings.HasPrefix(line, "\t") || strings.HasPrefix(line, ".") {
				continue
			}
			for _, t := range strings.Fields(r[1]) {
				if strings.Contains(t, "%") {
					m.Patterns = append(m.Patterns, t)
				} else {
					m.Targets[t] = true
				}
			}
		}
	}
	return m, nil
}

// HasTarget reports whether make knows the goal, given the values a
// pattern's stem may take (the step numbers, for step-%).
func (m *Make) HasTarget(goal string, stems []string) bool {
	if m.Targets[goal] {
		return true
	}
	for _, p := range m.Patterns {
		prefix, suffix, _ := strings.Cut(p, "%")
		stem, ok := strings.CutPrefix(goal, prefix)
		if !ok {
			continue
		}
		if stem, ok = strings.CutSuffix(stem, suffix); !ok {
			continue
		}
		for _, s := range stems {
			if s == stem {
				return true
			}
		}
	}
	return false
}
