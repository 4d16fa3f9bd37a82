package harness

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shellboxDefects are one-defect copies of shellbox (testdata/shellbox),
// made by editing shellbox.sh at test time: each must fail Check.
var shellboxDefects = []Mutant{
	{"cli.args", 1, "passes only the command's name to exec",
		[]Edit{{Old: `exec "$@"`, New: `exec "$1"`}}},
	{"cli.stdio", 1, "starts the child with stdin from /dev/null",
		[]Edit{{Old: `1) "$0" _child "$@" 8>&- 9>&- ;;`, New: `1) "$0" _child "$@" 8>&- 9>&- </dev/null ;;`}}},
	{"cli.exit_status", 1, "exits 1 whenever the command fails",
		[]Edit{{Old: "\tstatus=$?\n", New: "\tstatus=$?\n\t[ \"$status\" -eq 0 ] || status=1\n"}}},
	{"cli.usage", 1, "exits 125 on an unknown flag",
		[]Edit{{Old: `usage "unknown flag $flag"`, New: `die "unknown flag $flag"`}}},
	{"cli.not_found", 1, "exits 125 when the command is not on PATH",
		[]Edit{{Old: `command not found" >&2; exit 127;`, New: `command not found" >&2; exit 125;`}}},
	{"cli.exec", 1, "runs the command as a grandchild instead of exec",
		[]Edit{{Old: "\texec \"$@\"\n\texit 126\n", New: "\t\"$@\"\n\texit\n"}}},
	{"cli.exec", 3, "runs the command as a grandchild, PID 1 of a second PID namespace",
		[]Edit{{Old: "\texec \"$@\"\n\texit 126\n", New: "\tunshare --pid --fork -- \"$@\"\n\texit\n"}}},

	{"uts.ns_new", 2, "forgets --uts",
		[]Edit{{Old: `2) unshare --uts -- "$0"`, New: `2) unshare -- "$0"`}}},
	{"uts.host_unchanged", 2, "forgets --uts, so hostname renames the machine around it",
		[]Edit{{Old: `2) unshare --uts -- "$0"`, New: `2) unshare -- "$0"`}}},
	{"uts.hostname", 2, "never sets the hostname",
		[]Edit{{Old: `hostname "$hostname" || die`, New: `: "$hostname" || die`}}},

	{"pid.one", 3, "forgets --pid",
		[]Edit{{Old: `exec unshare --pid -- "$0" _parent "$@"`, New: `exec "$0" _parent "$@"`}}},
	{"proc.only_container", 3, "keeps the host's /proc",
		[]Edit{{Old: `mount -t proc proc /proc || die`, New: `: || die`}}},
	{"mnt.ns_new", 3, "forgets --mount",
		[]Edit{{Old: "unshare --mount --uts --ipc --propagation private --", New: "unshare --uts --ipc --"}}},
	{"mnt.no_leak", 3, "keeps / shared in the new mount namespace",
		[]Edit{{Old: "--propagation private", New: "--propagation shared"}}},
	{"ipc.ns_new", 3, "forgets --ipc",
		[]Edit{{Old: "--mount --uts --ipc", New: "--mount --uts"}}},

	{"root.is_rootfs", 4, "keeps / shared, so pivot_root fails with EINVAL before the command runs",
		[]Edit{{Old: "--propagation private", New: "--propagation shared"}}},
	{"root.oldroot_unmounted", 4, "never detaches the old root after pivot_root",
		[]Edit{{Old: `umount -l . || die`, New: `: || die`}}},
	{"root.host_hidden", 4, "never detaches the old root after pivot_root",
		[]Edit{{Old: `umount -l . || die`, New: `: || die`}}},
	{"root.oldroot_removed", 4, "pivots onto a put_old directory and leaves it in the rootfs",
		[]Edit{{Old: "pivot_root . . || die \"pivot_root into $1 failed\"\n\tumount -l . || die",
			New: "mkdir -p .oldroot && pivot_root . .oldroot || die \"pivot_root into $1 failed\"\n\tumount -l /.oldroot || die"}}},
	{"mnt.minimal", 4, "never mounts proc",
		[]Edit{{Old: `mount -t proc proc proc || die`, New: `: || die`}}},
	{"dev.null", 4, "makes /dev/null a plain file",
		[]Edit{{Old: `mknod -m 666 "$1/null" c 1 3`, New: `touch "$1/null"`}}},
	{"rootfs.missing", 4, "never checks that the rootfs exists",
		[]Edit{{Old: `[ -d "$rootfs" ] || die`, New: `: || die`}}},

	{"cgroup.quota_written", 5, "never writes the quota",
		[]Edit{{Old: `echo "$quota 100000" >"$dir/cpu.max"`, New: `:`},
			{Old: `echo 100000 >"$dir/cpu.cfs_period_us" && echo "$quota" >"$dir/cpu.cfs_quota_us"`, New: `:`}}},
	{"cgroup.enforced", 5, "never puts the child in its cgroup",
		[]Edit{{Old: `echo 0 >"$cg/cgroup.procs" || die`, New: `: || die`}}},
	{"cgroup.removed", 5, "never removes the cgroup",
		[]Edit{{Old: "remove_cgroup() {\n", New: "remove_cgroup() {\n\treturn 0\n"}}},
	{"cgroup.separate", 5, "names every container's cgroup shellbox",
		[]Edit{{Old: `dir=$2/$prog-$$`, New: `dir=$2/$prog`}}},
	{"cgroup.bad_cpus", 5, "takes any number for --cpus",
		[]Edit{{Old: `quota=$(quota_of "$cpus") && [ "$quota" -ge 1000 ] && [ "$quota" -le $(($(nproc) * 100000)) ] ||`, New: `quota=$(quota_of "$cpus") ||`}}},
	// Two seconds late, as harness.Mutants' own: 100 ms can pass before the
	// probe starts under software emulation.
	{"cgroup.from_start", 5, "joins the cgroup two seconds after the command started",
		[]Edit{{Old: `echo 0 >"$cg/cgroup.procs" || die`, New: `(sleep 2 && echo 1 >"$cg/cgroup.procs") & : || die`}}},
	{"cli.signals", 5, "ignores SIGINT and SIGQUIT in the runtime, and the command inherits that",
		[]Edit{{Old: "trap : INT QUIT", New: "trap '' INT QUIT"}}},
	{"cli.fds", 5, "leaves the cleaner's pipes open in the child",
		[]Edit{{Old: `--propagation private -- "$0" _child "$@" 8>&- 9>&- ;;`, New: `--propagation private -- "$0" _child "$@" ;;`}}},
}

// TestShellboxDefects: each one-defect copy of shellbox fails the check it
// breaks, with that check's line.
func TestShellboxDefects(t *testing.T) {
	requireShellboxTools(t)
	for _, m := range shellboxDefects {
		t.Run(fmt.Sprintf("%s/%02d", m.Check, m.Step), func(t *testing.T) {
			check, ok := catalogueCheck(m.Check)
			require.True(t, ok, "no check %s in the catalogue", m.Check)
			env, err := NewEnv(writeShellbox(t, m.Step, "", m.Edits), m.Step)
			require.NoError(t, err)
			t.Cleanup(func() { env.Close() })
			v := Guarded(t, env, check)
			assert.False(t, v.Pass, "%s passed shellbox that %s", m.Check, m.Defect)
			assert.True(t, strings.HasPrefix(v.Line(), "FAIL "+m.Check+": "), v.Line())
			t.Log(v.Line())
		})
	}
}

func catalogueCheck(id string) (Check, bool) {
	for _, c := range Catalogue {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}
