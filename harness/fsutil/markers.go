package fsutil

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ReplaceBetween swaps what lies between the line begin and the text end
// for content: how a generated table lives inside a hand-written README.
func ReplaceBetween(text, begin, end, content string) (string, error) {
	head, rest, ok := strings.Cut(text, begin+"\n")
	if !ok {
		return "", errors.New("no line " + begin)
	}
	_, tail, ok := strings.Cut(rest, end)
	if !ok {
		return "", errors.New("no line " + end + " after the begin marker")
	}
	return head + begin + "\n" + content + end + tail, nil
}

// RewriteBetween is ReplaceBetween on the file at path, in place.
func RewriteBetween(path, begin, end, content string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text, err := ReplaceBetween(string(data), begin, end, content)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return os.WriteFile(path, []byte(text), 0o644)
}
