package probe

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMountinfo(t *testing.T) {
	text := `26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard
31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
36 35 98:0 /mnt1 /with\040space rw,noatime master:1 - ext3 /dev/root rw,errors=continue
40 26 0:40 / /both rw shared:7 master:2 unbindable - tmpfs none rw
`
	got, err := ParseMountinfo(text)
	require.NoError(t, err)
	want := []Mount{
		{Point: "/", FSType: "ext4", Source: "/dev/vda", Root: "/", Options: "rw,discard", MountOptions: "rw,relatime", Propagation: "shared"},
		{Point: "/sys/fs/cgroup/cpu", FSType: "cgroup", Source: "cgroup", Root: "/", Options: "rw,cpu", MountOptions: "rw,relatime", Propagation: "private"},
		{Point: "/with space", FSType: "ext3", Source: "/dev/root", Root: "/mnt1", Options: "rw,errors=continue", MountOptions: "rw,noatime", Propagation: "slave"},
		{Point: "/both", FSType: "tmpfs", Source: "none", Root: "/", Options: "rw", MountOptions: "rw", Propagation: "shared,slave,unbindable"},
	}
	assert.Empty(t, cmp.Diff(want, got))
}

func TestParseMountinfoRejectsMalformedLines(t *testing.T) {
	for _, line := range []string{"26 1 254:0 / /", "1 2 3 4 5 6 - ext4", "no separator here at all"} {
		_, err := ParseMountinfo(line)
		assert.Error(t, err, line)
	}
}

func TestUnescapeOctal(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`: "/a b", `/tab\011x`: "/tab\tx", `/back\134slash`: `/back\slash`,
		`/end\04`: `/end\04`, `/not\999`: `/not\999`, `/plain`: "/plain",
	} {
		assert.Equal(t, want, unescapeOctal(in), in)
	}
}

func TestParseCgroupFile(t *testing.T) {
	got, err := ParseCgroupFile("4:memory:/a/b\n1:cpu,cpuacct:/stepbox-1\n0::/x:y\n")
	require.NoError(t, err)
	assert.Equal(t, []CgroupLine{
		{ID: "4", Controllers: "memory", Path: "/a/b"},
		{ID: "1", Controllers: "cpu,cpuacct", Path: "/stepbox-1"},
		{ID: "0", Controllers: "", Path: "/x:y"},
	}, got)
	_, err = ParseCgroupFile("garbage")
	assert.Error(t, err)
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("26 1 254:0 / / rw shared:1 - ext4 /dev/vda rw\n")
	f.Add(`36 35 98:0 /mnt1 /a\040b rw master:1 - ext3 /dev/root rw`)
	f.Fuzz(func(t *testing.T, text string) {
		mounts, err := ParseMountinfo(text)
		if err == nil {
			for _, m := range mounts {
				if m.Propagation == "" {
					t.Fatalf("mount %+v has no propagation", m)
				}
			}
		}
	})
}

func FuzzParseCgroupFile(f *testing.F) {
	f.Add("1:cpu:/stepbox-1\n0::/\n")
	f.Fuzz(func(t *testing.T, text string) {
		lines, err := ParseCgroupFile(text)
		if err == nil && len(lines) > len(text) {
			t.Fatalf("%d lines from %d bytes", len(lines), len(text))
		}
	})
}

func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`{"hostname":"c","pid":1,"namespaces":{"uts":"uts:[1]"},"burn":{"threads":2,"wall_seconds":2,"cpu_seconds":0.5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err == nil && r.Burn != nil {
			_ = r.Burn.CPUs()
		}
	})
}
