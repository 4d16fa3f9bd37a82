package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/exercise"
)

// target is the binary a run checks, and how to name it to the learner.
type target struct {
	bin   string
	label string // "your copy workspace/04-pivotroot"
	note  string // said on stderr before the checks, if not ""
}

// resolveTarget picks what to check: --bin, else the learner's copy of
// the step, built now, else the reference step.
func resolveTarget(o options) (target, error) {
	if o.bin != "" {
		return target{bin: o.bin, label: o.bin}, nil
	}
	root, err := engine.ModuleRoot()
	if err != nil {
		return target{}, err
	}
	bin, dir, err := buildCopy(root, o.workspace, o.step)
	if err != nil {
		return target{}, err
	}
	if bin != "" {
		return target{bin: bin, label: "your copy " + shortPath(root, dir)}, nil
	}
	ref, err := engine.StepDir(root, o.step)
	if err != nil {
		return target{}, err
	}
	if bin, err = engine.BuildStep(o.step); err != nil {
		return target{}, err
	}
	return target{
		bin:   bin,
		label: "the reference " + ref,
		note:  fmt.Sprintf("stepcheck: you have no copy %s, so this checks the reference step (`make exercise STEP=%02d` makes your copy)", shortPath(root, dir), o.step),
	}, nil
}

// buildCopy builds the learner's copy of step in workspace, if there is
// one: bin is "" when there is none, and an error says it does not build.
func buildCopy(root, workspace string, step int) (bin, dir string, err error) {
	dir, err = exercise.Dir(root, workspace, step)
	if err != nil {
		return "", "", err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return "", dir, nil
	} else if err != nil {
		return "", dir, err
	}
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) {
		return "", dir, fmt.Errorf("your copy %s must be inside the stepbox checkout %s, to build with its modules", dir, root)
	}
	bin, err = engine.Build(fmt.Sprintf("workspace-%02d", step), "./"+rel, nil)
	if err != nil {
		return "", dir, fmt.Errorf("your copy %s does not build: %w", rel, err)
	}
	return bin, dir, nil
}

// shortPath names path relative to the checkout when it is inside it.
func shortPath(root, path string) string {
	if rel, err := filepath.Rel(root, path); err == nil && filepath.IsLocal(rel) {
		return rel
	}
	return path
}
