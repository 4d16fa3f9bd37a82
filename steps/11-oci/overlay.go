//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// The container's root is an overlay: the image, read-only and shared
// by every container started from it (lowerdir), under a writable layer
// of this container's own (upperdir). A write copies the file up into
// the upper layer first; a delete leaves a "whiteout" there that hides
// the image's file. The image itself never changes.
//
// Who mounts it matters. The child is root only in its user namespace:
// the kernel would let it mount an overlay there (Linux 5.11 and later),
// but copying up a file keeps its owner, and the image's files belong to
// the host's root, an id the namespace does not map, so every copy-up
// would fail (EOVERFLOW, "value too large for defined data type", even
// for a new file in /tmp: its directory is copied up first). So the parent, real root, creates the overlay with the new
// mount API (fsopen, fsconfig, fsmount): the kernel records the
// credentials of whoever creates it and does copy-ups with them. fsmount
// returns the mount as a file descriptor, attached nowhere, not in the
// host's mount table; the child attaches it in its own mount namespace
// with move_mount. It never appears on the host.

// overlayFD is the fd the overlay mount reaches the child on: after
// stdin, stdout, stderr and the sync pipe (3).
const overlayFD = 4

// createOverlay makes the overlay of image (lower) and the layer's upper
// and work directories, and returns it as a detached mount.
func createOverlay(image string, l *layer) (*os.File, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot open an overlay filesystem context: %w (is the overlay module loaded? modprobe overlay)", err)
	}
	defer unix.Close(fsfd)
	for _, opt := range [][2]string{{"lowerdir", image}, {"upperdir", l.upper}, {"workdir", l.work}} {
		if err := unix.FsconfigSetString(fsfd, opt[0], opt[1]); err != nil {
			return nil, overlayError(fsfd, image, l, fmt.Errorf("%s=%s: %w", opt[0], opt[1], err))
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, overlayError(fsfd, image, l, err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return nil, overlayError(fsfd, image, l, err)
	}
	return os.NewFile(uintptr(mfd), "overlay mount"), nil
}

// overlayError explains a refused overlay. With mount(2) the kernel's
// reason goes to dmesg only and the caller sees a bare errno ("too many
// levels of symbolic links" for an upper directory inside the image);
// with fsopen the reason can be read from the context fd.
func overlayError(fsfd int, image string, l *layer, err error) error {
	msg := fmt.Sprintf("cannot mount the overlay of image %q with upper directory %q: %v", image, l.upper, err)
	if said := kernelMessages(fsfd); said != "" {
		msg += " (the kernel says: " + said + ")"
	}
	return errors.New(msg + ": the upper and work directories need a local filesystem (ext4, xfs, btrfs, tmpfs) outside the image: pass --state-dir DIR")
}

// kernelMessages reads what the kernel logged on a filesystem context:
// lines like "e overlayfs: overlapping upperdir path".
func kernelMessages(fsfd int) string {
	var lines []string
	buf := make([]byte, 1024)
	for len(lines) < 4 {
		n, err := unix.Read(fsfd, buf)
		if err != nil || n <= 0 {
			break
		}
		line := strings.TrimSpace(string(buf[:n]))
		if _, text, ok := strings.Cut(line, " "); ok && len(line) > 1 && line[1] == ' ' {
			line = text // drop the "e "/"w "/"i " level
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "; ")
}

// attachOverlay mounts the detached overlay on the merged directory, in
// this mount namespace only. After it, the merged directory is a mount
// point, which is all pivot_root asks of the new root.
func attachOverlay(ovl *os.File, merged string) error {
	defer ovl.Close() // the command must not inherit it
	if err := unix.MoveMount(int(ovl.Fd()), "", unix.AT_FDCWD, merged, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("cannot attach the overlay on %q: %w", merged, err)
	}
	return nil
}

// bindImageReadOnly is the ordinary user's root: the image itself,
// bind-mounted read-only, so nothing can write to it.
func bindImageReadOnly(image string) error {
	if err := bindMountRootfs(image); err != nil {
		return err
	}
	// A remount in a user namespace must keep the flags the host's
	// mount locked (nosuid, nodev, ...), or it fails with EPERM.
	var st unix.Statfs_t
	if err := unix.Statfs(image, &st); err != nil {
		return fmt.Errorf("cannot read the mount flags of image %q: %w", image, err)
	}
	keep := uintptr(st.Flags) & (unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME | unix.MS_RELATIME)
	if err := unix.Mount("", image, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|keep, ""); err != nil {
		return fmt.Errorf("cannot make image %q read-only: %w", image, err)
	}
	return nil
}
