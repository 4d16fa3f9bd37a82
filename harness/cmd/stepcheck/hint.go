package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/stepbox/stepbox/harness"
)

// hintsFile, in the workspace, remembers which hint level was last shown
// for each failing check. It is not progress: progress always comes from
// running the checks.
const hintsFile = ".hints"

// hint runs the checks in harness.FixOrder until one fails and shows its
// next hint: the nudge, then the syscall, then the pitfall.
func hint(w io.Writer, o options) error {
	t, err := resolveTarget(o)
	if err != nil {
		return err
	}
	if t.note != "" {
		fmt.Fprintln(w, t.note)
	}
	verdicts, _, err := runChecks(t.bin, o.step, harness.FixOrder(o.step), true)
	if err != nil {
		return err
	}
	if len(verdicts) == 0 {
		return fmt.Errorf("step %02d has no checks", o.step)
	}
	last := verdicts[len(verdicts)-1]
	if last.Pass {
		fmt.Fprintf(w, "All %d checks of step %02d pass on %s: no hint needed. `make progress` shows every step.\n", len(verdicts), o.step, t.label)
		return nil
	}
	fmt.Fprintf(w, "FAIL %s: expected %s, got %s\n", last.ID, last.Expected, last.Got)
	if _, ok := harness.Lookup(last.ID); !ok || last.Cause != "" {
		fmt.Fprintf(w, "Hint: %s\n", last.HintText())
		return nil
	}
	path, err := hintsPath(o.workspace)
	if err != nil {
		return err
	}
	shown, err := loadHints(path)
	if err != nil {
		return err
	}
	key := hintKey(o, last.ID)
	level := min(shown[key], harness.HintLevels-1)
	text, err := harness.HintFor(last.ID, level)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Hint %d of %d (%s): %s\n", level+1, harness.HintLevels, harness.HintLevelNames[level], text)
	if level+1 < harness.HintLevels {
		fmt.Fprintf(w, "Stuck? `%s` again gives the next hint (%s).\n", hintCommand(o), harness.HintLevelNames[level+1])
	} else {
		fmt.Fprintf(w, "That was the last hint for %s. `make solution STEP=%02d` shows the reference solution as a diff against your copy.\n", last.ID, o.step)
	}
	shown[key] = level + 1
	return saveHints(path, shown)
}

// loadHints reads the levels shown so far; a missing file means none.
func loadHints(path string) (map[string]int, error) {
	shown := map[string]int{}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return shown, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &shown); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v): delete it to start the hints over", path, err)
	}
	return shown, nil
}

// saveHints writes the levels shown. Under sudo the file, and the
// workspace if this made it, go to the user who ran sudo, so the
// learner's own folder holds nothing owned by root.
func saveHints(path string, shown map[string]int) error {
	dir := filepath.Dir(path)
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data, _ := json.MarshalIndent(shown, "", "  ")
	if err := os.WriteFile(path, append(data, '\n'), 0o644); err != nil {
		return err
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		giveToSudoUser(dir)
	}
	giveToSudoUser(path)
	return nil
}

// giveToSudoUser chowns path to $SUDO_UID:$SUDO_GID when set. It is a
// courtesy: failing leaves a root-owned file the learner can still read.
func giveToSudoUser(path string) {
	uid, errU := strconv.Atoi(os.Getenv("SUDO_UID"))
	gid, errG := strconv.Atoi(os.Getenv("SUDO_GID"))
	if errU == nil && errG == nil {
		_ = os.Chown(path, uid, gid)
	}
}
