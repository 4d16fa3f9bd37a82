package probe

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The attacks of step 10: each tries one door out of a container and
// reports "ok", what it read, or the error name (EPERM, EACCES, ...).
// None can harm the machine, whatever runtime the probe runs under:
// every system call that could (reboot, module loading, the clock) gets
// an argument the kernel refuses after its permission check, so success
// shows as EINVAL or EBADF, never as a reboot; what they change (a mount,
// an MTU, a sysctl) is the container's own, and is put back.

// AttackNames lists the attacks in the order the probe runs them.
var AttackNames = []string{
	"mount", "umount", "fsopen", "unshare", "clone", "clone3", "setns", "keyctl", "reboot", "module", "kexec",
	"clock", "bpf", "perf", "ptrace", "net_admin", "kcore", "interrupts", "sysctl", "mknod", "image_device",
}

// ImageDevice is where the harness puts a device node in the image, for
// the image_device attack.
const ImageDevice = "/stepbox-device"

var attacks = map[string]func() string{
	"mount":  attackMount,
	"umount": func() string { return errName(unix.Unmount("/stepbox-no-such-mount", 0)) },
	"fsopen": func() string { _, err := unix.Fsopen("stepbox-no-such-fs", 0); return errName(err) },
	"unshare": func() string {
		return startChild(&syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWUSER})
	},
	"clone": func() string {
		return startChild(&syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS})
	},
	"clone3":       func() string { return rawErr(unix.SYS_CLONE3, 0, 0, 0) },
	"setns":        func() string { return errName(unix.Setns(-1, 0)) },
	"keyctl":       attackKeyctl,
	"reboot":       func() string { return rawErr(unix.SYS_REBOOT, 0, 0, 0) }, // magic 0: EINVAL once past the capability check
	"module":       attackModule,
	"kexec":        func() string { return rawErr(unix.SYS_KEXEC_LOAD, 0, 1000, 0) }, // 1000 segments: EINVAL past the check
	"clock":        attackClock,
	"bpf":          func() string { return rawErr(unix.SYS_BPF, 1<<20, 0, 0) }, // no such command: EINVAL past the check
	"perf":         func() string { return rawErr(unix.SYS_PERF_EVENT_OPEN, 0, 0, 0) },
	"ptrace":       func() string { return rawErr(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR, 0, 0) }, // pid 0: ESRCH past the filter
	"net_admin":    attackNetAdmin,
	"kcore":        func() string { return Peek("/proc/kcore") },
	"interrupts":   func() string { return Peek("/proc/interrupts") },
	"sysctl":       attackSysctl,
	"mknod":        attackMknod,
	"image_device": attackImageDevice,
}

// Attacks runs every attack.
func Attacks() map[string]string {
	results := map[string]string{}
	for _, name := range AttackNames {
		results[name] = attacks[name]()
	}
	return results
}

// errName is "ok" for nil, else the errno's name, else the error.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if name := unix.ErrnoName(errno); name != "" {
			return name
		}
	}
	return err.Error()
}

func rawErr(nr, a1, a2, a3 uintptr) string {
	_, _, errno := unix.Syscall(nr, a1, a2, a3)
	if errno == 0 {
		return "ok"
	}
	return errName(errno)
}

// attackMount mounts a tmpfs over /dev, then takes it away again.
func attackMount() string {
	if err := unix.Mount("stepbox-attack", "/dev", "tmpfs", 0, ""); err != nil {
		return errName(err)
	}
	_ = unix.Unmount("/dev", unix.MNT_DETACH)
	return "ok"
}

// startChild starts the probe again (exit 0) in new namespaces.
func startChild(attr *syscall.SysProcAttr) string {
	cmd := exec.Command("/proc/self/exe", "exit", "0")
	cmd.SysProcAttr = attr
	return errName(cmd.Run())
}

func attackKeyctl() string {
	_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_USER_KEYRING, 0, 0, 0)
	return errName(err)
}

// attackModule asks to load a module from fd -1: EBADF past the check.
func attackModule() string {
	empty := []byte{0}
	_, _, errno := unix.Syscall(unix.SYS_FINIT_MODULE, ^uintptr(0), uintptr(unsafe.Pointer(&empty[0])), 0)
	if errno == 0 {
		return "ok"
	}
	return errName(errno)
}

// attackClock sets only the timezone, to 100000 minutes west: the kernel
// checks CAP_SYS_TIME first, then refuses the value with EINVAL. The
// clock itself is never touched (no time is passed).
func attackClock() string {
	tz := [2]int32{100000, 0}
	_, _, errno := unix.Syscall(unix.SYS_SETTIMEOFDAY, 0, uintptr(unsafe.Pointer(&tz)), 0)
	if errno == 0 {
		return "ok"
	}
	return errName(errno)
}

// attackNetAdmin sets lo's MTU to what it already is: CAP_NET_ADMIN.
func attackNetAdmin() string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errName(err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err.Error()
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFMTU, ifr); err != nil {
		return errName(err)
	}
	return errName(unix.IoctlIfreq(fd, unix.SIOCSIFMTU, ifr))
}

// attackSysctl writes the container's own ip_forward back unchanged.
func attackSysctl() string {
	f, err := os.OpenFile("/proc/sys/net/ipv4/ip_forward", os.O_RDWR, 0)
	if err != nil {
		return errName(err)
	}
	defer f.Close()
	buf := make([]byte, 8)
	n, err := f.Read(buf)
	if err != nil {
		return errName(err)
	}
	value := strings.TrimSpace(string(buf[:n]))
	if _, err := f.WriteAt([]byte(value+"\n"), 0); err != nil {
		return errName(err)
	}
	return "ok"
}

// attackMknod makes a node for the first disk (block 8,0) and removes it
// at once; it is never opened.
func attackMknod() string {
	const path = "/dev/stepbox-sda"
	if err := unix.Mknod(path, unix.S_IFBLK|0o600, int(unix.Mkdev(8, 0))); err != nil {
		return errName(err)
	}
	_ = os.Remove(path)
	return "ok"
}

// attackImageDevice reads a byte from the device node the image brings.
func attackImageDevice() string {
	if _, err := os.Lstat(ImageDevice); err != nil {
		return "absent"
	}
	return Peek(ImageDevice)
}

// Peek reads up to 4 KiB of a file, or lists a directory: "read N
// bytes", "empty", "N entries", "absent" or the error's name.
func Peek(path string) string {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "absent"
	}
	if err != nil {
		return errName(err)
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.IsDir() {
		names, err := f.Readdirnames(-1)
		if err != nil {
			return errName(err)
		}
		if len(names) == 0 {
			return "empty"
		}
		return strconv.Itoa(len(names)) + " entries"
	}
	n, err := io.ReadFull(f, make([]byte, 4096))
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return errName(err)
	}
	if n == 0 {
		return "empty"
	}
	return fmt.Sprintf("read %d bytes", n)
}

// peekAll peeks at each path.
func peekAll(paths []string) map[string]string {
	if len(paths) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range paths {
		out[p] = Peek(p)
	}
	return out
}
