//go:build linux

package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
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
// for a new file in /tmp: its directory is copied up first). So the
// parent, real root, creates the overlay with the new mount API (fsopen,
// fsconfig, fsmount): the kernel records the credentials of whoever
// creates it and does copy-ups with them. fsmount returns the mount as a
// file descriptor, attached nowhere, not in the host's mount table; the
// parent passes it to the child over a socket and the child attaches it
// in its own mount namespace with move_mount. It never appears on the host.
//
// Who owns the image matters too. Its files belong to the host's root,
// which the container's user namespace does not map: inside they show as
// owned by "nobody", and the container's root, whose capabilities count
// only over ids its namespace maps, may not write them (EACCES, even for
// root). An idmapped mount changes that without touching a byte on disk:
// the parent clones the image's mount (open_tree), gives the clone the
// container's user namespace (mount_setattr, MOUNT_ATTR_IDMAP), and every
// owner read through the clone is shifted by the container's map, so the
// host's 0 is seen as the host's 100000, the container's root. The overlay
// takes that clone as its lower layer: root inside owns the image, may
// write, chmod and delete anything, and each change is copied up, owned by
// 100000 on the host, into the upper layer. The user namespace exists only
// once the child does, so the parent makes the overlay after starting the
// child (its uid_map is written by then) and before releasing it.

// overlayFD is the fd of the socket the overlay reaches the child on:
// after stdin, stdout, stderr and the sync socket (3).
const overlayFD = 4

// overlaySocket makes the socket the parent passes the overlay through,
// once the child exists. It returns the child's end; the layer keeps the
// parent's.
func (l *layer) overlaySocket() (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot create the socket to pass the overlay on: %w", err)
	}
	l.socket = os.NewFile(uintptr(fds[0]), "overlay socket")
	return os.NewFile(uintptr(fds[1]), "overlay socket"), nil
}

// sendOverlay creates the overlay of image and the layer, idmapped to the
// user namespace of the child pid, and sends it to the child: a file
// descriptor travels between processes as SCM_RIGHTS on a unix socket.
func (l *layer) sendOverlay(image string, pid int) error {
	defer l.socket.Close()
	if err := l.fill(image); err != nil {
		return err
	}
	ovl, err := createOverlay(image, l, pid)
	if err != nil {
		return err
	}
	defer ovl.Close() // the child has its own once sent
	if err := unix.Sendmsg(int(l.socket.Fd()), []byte{0}, unix.UnixRights(int(ovl.Fd())), nil, 0); err != nil {
		return fmt.Errorf("cannot pass the overlay to the child: %w", err)
	}
	return nil
}

// createOverlay makes the overlay with the image idmapped to the child's
// user namespace, in a mount namespace of its own (see inPrivateMounts).
// A kernel or filesystem without idmapped mounts (before Linux 5.19
// under overlayfs; tmpfs before 6.3) gets the overlay without, with one
// line to say the image stays read-only to the container's root.
func createOverlay(image string, l *layer, pid int) (*os.File, error) {
	userns, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil {
		return nil, fmt.Errorf("cannot open the container's user namespace: %w", err)
	}
	defer userns.Close()
	var idmapErr error
	ovl, err := inPrivateMounts(func() (*os.File, error) {
		if l.throwaway {
			if err := mountScratch(l); err != nil {
				return nil, err
			}
		}
		idmapErr = idmapLayer(image, int(userns.Fd()))
		return mountOverlay(image, l)
	})
	if err != nil {
		return nil, err
	}
	if idmapErr != nil {
		warn("the image is not idmapped (%v): its files stay read-only to the container's root", idmapErr)
	}
	return ovl, nil
}

// mountScratch gives a throwaway layer its upper and work directories on
// a tmpfs of their own, mounted on the layer's directory in the private
// mount namespace only (the host and the child still see the directory
// on disk). The overlay holds the tmpfs once made; when the container's
// last process exits, the overlay goes and the kernel frees the tmpfs
// with everything the container wrote: nothing to sync, nothing to
// delete. Its pages are charged to the memory cgroup of the process that
// writes them, the container's.
func mountScratch(l *layer) error {
	if err := unix.Mount("tmpfs", l.dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0700"); err != nil {
		return fmt.Errorf("cannot mount a tmpfs for the container's throwaway layer: %w", err)
	}
	for _, d := range []string{l.upper, l.work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("cannot create %q on the throwaway layer's tmpfs: %w", d, err)
		}
	}
	return nil
}

// inPrivateMounts runs fn on a thread of its own, in a mount namespace
// of its own: the idmapped image is mounted there, where the overlay
// can take it as a layer (Linux before 6.15 takes only a layer in the
// caller's mount namespace), and vanishes with the thread, never seen
// by the host. The thread is never unlocked: Go ends it with fn's goroutine.
func inPrivateMounts(fn func() (*os.File, error)) (*os.File, error) {
	type result struct {
		ovl *os.File
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			done <- result{nil, fmt.Errorf("cannot create a mount namespace for the idmapped image: %w", err)}
			return
		}
		// A copy of a shared mount stays shared: cut the link first, so
		// the idmapped image never propagates back to the host.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			done <- result{nil, fmt.Errorf("cannot make / a private mount: %w", err)}
			return
		}
		ovl, err := fn()
		done <- result{ovl, err}
	}()
	r := <-done
	return r.ovl, r.err
}

// idmapLayer mounts on dir a clone of it seen through the user namespace
// userns: its owners are shifted by the namespace's uid_map and gid_map.
// Only a clone not yet attached may be given an idmap.
func idmapLayer(dir string, userns int) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, dir, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return fmt.Errorf("cannot clone the mount of %q: %w", dir, err)
	}
	defer unix.Close(tree)
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns)}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		return fmt.Errorf("cannot idmap %q: %w", dir, err)
	}
	if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("cannot mount the idmapped %q: %w", dir, err)
	}
	return nil
}

// mountOverlay makes the overlay of image (lower) and the layer's upper
// and work directories, and returns it as a detached mount. The upper
// directory is the root of the container's /: it gets the owner the
// image's root has, as the overlay sees it (through the idmap, the
// container's root), so root inside may create files in / too.
func mountOverlay(image string, l *layer) (*os.File, error) {
	var st unix.Stat_t
	if err := unix.Stat(image, &st); err != nil {
		return nil, fmt.Errorf("cannot read the owner of image %q: %w", image, err)
	}
	if err := os.Chown(l.upper, int(st.Uid), int(st.Gid)); err != nil {
		return nil, fmt.Errorf("cannot give %q the owner of the image: %w", l.upper, err)
	}
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

// attachOverlay receives the overlay from the parent on sock and mounts
// it on the merged directory, in this mount namespace only. After it,
// the merged directory is a mount point, which is all pivot_root asks of
// the new root.
func attachOverlay(sock *os.File, merged string) error {
	defer sock.Close() // the command must not inherit it
	ovl, err := receiveOverlay(sock)
	if err != nil {
		return err
	}
	defer unix.Close(ovl)
	if err := unix.MoveMount(ovl, "", unix.AT_FDCWD, merged, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("cannot attach the overlay on %q: %w", merged, err)
	}
	return nil
}

// receiveOverlay reads the one file descriptor the parent sends.
func receiveOverlay(sock *os.File) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("cannot receive the overlay from the parent: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, errors.New("the parent sent no overlay (it reports why)")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, errors.New("the parent sent no overlay (it reports why)")
	}
	return fds[0], nil
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
