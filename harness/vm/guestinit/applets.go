package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// busyboxPath is where the host put busybox in the initramfs.
const busyboxPath = "/bin/busybox"

// linkApplets makes busybox's applet links (/bin/sh, /sbin/ip, ...), as
// busybox itself lists them, so PATH has the usual tools. The init does
// it, not the host: a host cannot run a busybox built for another
// architecture to ask it.
func linkApplets() error {
	out, err := exec.Command(busyboxPath, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", busyboxPath, err)
	}
	for _, link := range appletLinks(string(out)) {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return fmt.Errorf("applet links: %w", err)
		}
		if err := os.Symlink(busyboxPath, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("applet links: %w", err)
		}
	}
	return nil
}

// appletLinks turns busybox's --list-full output into absolute paths to
// link, leaving out busybox itself and the applets that would stand in
// for this init (/linuxrc is what an old kernel runs instead of /init).
func appletLinks(list string) []string {
	var links []string
	for _, applet := range strings.Fields(list) {
		switch applet {
		case "bin/busybox", "init", "linuxrc":
			continue
		}
		links = append(links, "/"+applet)
	}
	return links
}
