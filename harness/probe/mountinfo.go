package probe

import (
	"fmt"
	"strings"
)

// Mount is the part of one /proc/PID/mountinfo line the checks need.
type Mount struct {
	Point  string `json:"point"`
	FSType string `json:"fstype"`
	Source string `json:"source"`
	// Root is the directory of the filesystem mounted at Point: "/" for a
	// whole filesystem, a subdirectory for a bind mount.
	Root string `json:"root"`
	// Options are the per-superblock options, e.g. "rw,cpu" for a cgroup.
	Options string `json:"options"`
	// MountOptions are the options of this mount alone, e.g. "ro,nosuid".
	MountOptions string `json:"mount_options,omitempty"`
	// Propagation is "shared", "private", "slave" or several of them.
	Propagation string `json:"propagation"`
}

// ParseMountinfo parses the text of /proc/PID/mountinfo (see proc(5)):
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields before "-" are fixed except the optional tags; after it come the
// filesystem type, the source and the superblock options.
func ParseMountinfo(text string) ([]Mount, error) {
	var mounts []Mount
	for n, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountinfoLine(line)
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n+1, err)
		}
		mounts = append(mounts, m)
	}
	return mounts, nil
}

func parseMountinfoLine(line string) (Mount, error) {
	fields := strings.Fields(line)
	sep := -1
	for i, f := range fields {
		if f == "-" && i >= 6 {
			sep = i
			break
		}
	}
	if sep < 0 || len(fields) < sep+3 {
		return Mount{}, fmt.Errorf("malformed: %q", line)
	}
	m := Mount{
		Root:         unescapeOctal(fields[3]),
		Point:        unescapeOctal(fields[4]),
		FSType:       fields[sep+1],
		Source:       unescapeOctal(fields[sep+2]),
		MountOptions: fields[5],
	}
	if len(fields) > sep+3 {
		m.Options = fields[sep+3]
	}
	var tags []string
	for _, tag := range fields[6:sep] {
		switch {
		case strings.HasPrefix(tag, "shared:"):
			tags = append(tags, "shared")
		case strings.HasPrefix(tag, "master:"):
			tags = append(tags, "slave")
		case tag == "unbindable":
			tags = append(tags, tag)
		}
	}
	if len(tags) == 0 {
		tags = []string{"private"}
	}
	m.Propagation = strings.Join(tags, ",")
	return m, nil
}

// unescapeOctal undoes the kernel's \040-style escaping of spaces, tabs,
// newlines and backslashes in paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			v := (s[i+1]-'0')*64 + (s[i+2]-'0')*8 + (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if s[i] < '0' || s[i] > '7' {
			return false
		}
	}
	return true
}
