package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// fetchDeb downloads a pinned .deb into dir, unless it is there already,
// and returns its path. A package of the host's own architecture comes
// through the host's apt as it is; one of another architecture through a
// private apt (privateApt), so the host's dpkg never learns of a second
// architecture. Neither needs root.
func fetchDeb(dir string, d Deb) (string, error) {
	want := filepath.Join(dir, d.File())
	if _, err := os.Stat(want); err == nil {
		return want, nil
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", fmt.Errorf("apt-get not found: the QEMU backend fetches %s from Debian's archive", d)
	}
	var env []string
	if d.Arch != runtime.GOARCH {
		conf, err := privateApt(dir, d.Arch)
		if err != nil {
			return "", err
		}
		env = []string{"APT_CONFIG=" + conf}
	}
	if err := aptGet(dir, env, "download", "-q", d.Package+"="+d.Version); err != nil {
		return "", fmt.Errorf("apt-get download %s: %w\nremedy: %s", d, err, debRemedy(d))
	}
	if _, err := os.Stat(want); err != nil {
		return "", fmt.Errorf("apt-get download did not leave %s: %w", want, err)
	}
	return want, nil
}

// debRemedy is what to do when a pinned package cannot be fetched.
func debRemedy(d Deb) string {
	if d.Arch != runtime.GOARCH {
		return fmt.Sprintf("remove %s to make the private apt read the archive's lists again; if %s is still not found, the archive has moved on: pick a current one and update the pin in harness/vm/qemu/arch.go", aptDirName(d.Arch), d.Package)
	}
	return fmt.Sprintf("run `apt-get update` (as root); if apt still cannot find %s, the archive has moved on: pick a current one with `apt-cache search` and update the pin in harness/vm/qemu/arch.go", d.Package)
}

func aptDirName(arch string) string { return "apt-" + arch }

// privateApt prepares, under dir, an apt of its own for arch: its own
// configuration (read instead of the host's apt.conf.d), package lists,
// cache and an empty dpkg status, with only arch as its architecture.
// It reads the host's sources list and keyrings, and changes nothing of
// the host's. It returns the configuration file for $APT_CONFIG, after
// one `apt-get update` the first time.
func privateApt(dir, arch string) (string, error) {
	base, err := filepath.Abs(filepath.Join(dir, aptDirName(arch)))
	if err != nil {
		return "", err
	}
	conf := filepath.Join(base, "apt.conf")
	if _, err := os.Stat(filepath.Join(base, "updated")); err == nil {
		return conf, nil
	}
	for _, d := range []string{"lists/partial", "archives/partial", "apt.conf.d"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			return "", fmt.Errorf("private apt: %w", err)
		}
	}
	settings := fmt.Sprintf(`Dir::State::Lists "%[1]s/lists";
Dir::State::status "%[1]s/status";
Dir::Cache "%[1]s";
Dir::Cache::archives "%[1]s/archives";
Dir::Etc::Parts "%[1]s/apt.conf.d";
APT::Architecture "%[2]s";
APT::Architectures { "%[2]s"; };
Acquire::Languages "none";
`, base, arch)
	if err := os.WriteFile(filepath.Join(base, "status"), nil, 0o644); err != nil {
		return "", fmt.Errorf("private apt: %w", err)
	}
	if err := os.WriteFile(conf, []byte(settings), 0o644); err != nil {
		return "", fmt.Errorf("private apt: %w", err)
	}
	if err := aptGet(dir, []string{"APT_CONFIG=" + conf}, "update", "-q"); err != nil {
		return "", fmt.Errorf("private apt for %s: apt-get update: %w", arch, err)
	}
	return conf, os.WriteFile(filepath.Join(base, "updated"), nil, 0o644)
}

// aptGet runs apt-get in dir with env added.
func aptGet(dir string, env []string, args ...string) error {
	cmd := exec.Command("apt-get", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w\n%s", err, strings.TrimSpace(string(out)))
	}
	return nil
}
