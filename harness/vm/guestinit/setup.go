package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/vm/guest"
)

// loadModules loads each module from the initramfs, dependencies first
// (the host wrote them in that order). Debian builds its 6.1 modules
// uncompressed, so finit_module takes the file as it is.
func loadModules(names []string) error {
	for _, name := range names {
		path := filepath.Join(guest.ModulesDir, name+".ko")
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("loading module %s: %w", name, err)
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("loading module %s: finit_module: %w", name, err)
		}
	}
	return nil
}

// setupHost gives the guest what a host normally has: a hostname, an up
// loopback interface, the usual tools on PATH, and the directories the
// tests expect.
func setupHost() error {
	if err := unix.Sethostname([]byte("stepbox-vm")); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return err
	}
	if err := linkApplets(); err != nil {
		return err
	}
	if err := diskTmp(); err != nil {
		return err
	}
	for _, dir := range []string{"/root", "/tmp/cache"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("mkdir %s: %w", dir, err)
		}
	}
	return nil
}

// loopbackUp sets IFF_UP on lo with the classic ioctl.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: reading flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("loopback: setting up: %w", err)
	}
	return nil
}

// uptime is seconds since the kernel started, or -1.
func uptime() float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(data), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}

// diskTmp mounts /tmp, where the tests keep their rootfs copies, on
// ext4 in a loop device backed by a sparse file in the guest's RAM, as a
// host's /tmp is on its disk. On this 6.1 kernel ext4 can be idmapped and
// tmpfs cannot (from 6.3), and step 08 idmaps the image.
func diskTmp() error {
	const backing, size = "/tmp.ext4", 1 << 30
	f, err := os.Create(backing)
	if err != nil {
		return fmt.Errorf("/tmp on ext4: %w", err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return fmt.Errorf("/tmp on ext4: %w", err)
	}
	dev, err := attachLoop(f)
	if err != nil {
		return fmt.Errorf("/tmp on ext4: %w", err)
	}
	if out, err := exec.Command(busyboxPath, "mke2fs", dev).CombinedOutput(); err != nil {
		return fmt.Errorf("/tmp on ext4: mke2fs %s: %w: %s", dev, err, strings.TrimSpace(string(out)))
	}
	if err := os.MkdirAll("/tmp", 0o755); err != nil {
		return fmt.Errorf("/tmp on ext4: %w", err)
	}
	if err := unix.Mount(dev, "/tmp", "ext4", unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("/tmp on ext4: mounting %s: %w", dev, err)
	}
	if err := os.Chmod("/tmp", 0o777|os.ModeSticky); err != nil {
		return fmt.Errorf("/tmp on ext4: %w", err)
	}
	return nil
}

// attachLoop binds a free loop device to f and returns its path.
func attachLoop(f *os.File) (string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	if err != nil {
		return "", fmt.Errorf("LOOP_CTL_GET_FREE: %w", err)
	}
	dev := "/dev/loop" + strconv.Itoa(n)
	loop, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer loop.Close() // the binding outlives the fd
	if err := unix.IoctlSetInt(int(loop.Fd()), unix.LOOP_SET_FD, int(f.Fd())); err != nil {
		return "", fmt.Errorf("LOOP_SET_FD on %s: %w", dev, err)
	}
	return dev, nil
}
