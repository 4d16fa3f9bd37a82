package main

import (
	"fmt"
	"os"
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
