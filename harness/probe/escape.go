package probe

import (
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"
)

// Escape is where a host file was still reachable from the container.
// Found is empty when it was nowhere; Climb says how the chroot climb
// went ("stayed inside", or why it could not be tried).
type Escape struct {
	Found []string `json:"found,omitempty"`
	Climb string   `json:"climb"`
}

// hunt looks for the host file marker wherever the host's tree may still
// be reachable: at its own path, under every mount point (the old root
// left mounted, as at the article's /oldrootfs), and after climbing out
// of a chroot. It must run last: the climb changes the process's root.
func hunt(marker string, mounts []Mount) *Escape {
	e := &Escape{}
	if exists(marker) {
		e.Found = append(e.Found, marker)
	}
	for _, m := range mounts {
		if m.Point == "/" {
			continue
		}
		if p := filepath.Join(m.Point, marker); exists(p) {
			e.Found = append(e.Found, p+" (under the mount at "+m.Point+")")
		}
	}
	// Without /proc there is no mount table to read: look under every
	// directory at the top too, where an old root is usually left.
	entries, _ := os.ReadDir("/")
	for _, entry := range entries {
		top := "/" + entry.Name()
		if p := filepath.Join(top, marker); entry.IsDir() && !isMountedAt(mounts, top) && exists(p) {
			e.Found = append(e.Found, p+" (under "+top+")")
		}
	}
	climbed, how := climbOut()
	e.Climb = how
	if climbed && exists(marker) {
		e.Found = append(e.Found, marker+" (after chroot into /bin, chdir .. up past the root, chroot .)")
	}
	return e
}

// climbOut is the classic chroot escape. chroot only changes which
// directory a process calls /; it does not move the process, so after
// chroot("/bin") the working directory is outside the new root, and ".."
// walks up from it without limit, to the real root of the mount
// namespace. Under chroot that is the host's /; after pivot_root with the
// old root detached it is the container's own root, with nothing above.
func climbOut() (bool, string) {
	if err := unix.Chdir("/"); err != nil {
		return false, "not tried: chdir /: " + err.Error()
	}
	if err := unix.Chroot("/bin"); err != nil {
		return false, "not tried: chroot /bin: " + errName(err)
	}
	for range 64 {
		if err := unix.Chdir(".."); err != nil {
			return false, "stuck: chdir ..: " + err.Error()
		}
	}
	if err := unix.Chroot("."); err != nil {
		return false, "stuck: chroot .: " + errName(err)
	}
	return true, "climbed to the top of the mount namespace"
}

// isMountedAt says whether mounts has one at point (already searched).
func isMountedAt(mounts []Mount, point string) bool {
	return slices.ContainsFunc(mounts, func(m Mount) bool { return m.Point == point })
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
