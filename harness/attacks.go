package harness

import (
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// An Attack is one of the probe's attacks (harness/probe/attacks.go)
// as step 10's README tells it: what it tries, the results that mean a
// step stopped it, and the defence of step 10 that does.
type Attack struct {
	Name    string   // the probe's name for it
	Tries   string   // what it tries, in a reader's words
	Blocked []string // results that mean it was stopped
	Defence string   // what stops it in step 10
}

// Attacks are step 10's attacks, in the README table's order.
var Attacks = []Attack{
	{"mount", "mount a tmpfs over the container's /dev", eperm, "seccomp (mount), CAP_SYS_ADMIN dropped"},
	{"umount", "unmount a mount (umount2)", eperm, "seccomp (umount2)"},
	{"fsopen", "open a filesystem with the new mount API (fsopen)", eperm, "seccomp (fsopen), CAP_SYS_ADMIN dropped"},
	{"unshare", "unshare a new user namespace, with every capability in it", eperm, "seccomp (unshare)"},
	{"clone", "clone a child into a new user and mount namespace", eperm, "seccomp (clone's namespace flags)"},
	{"clone3", "clone3, whose flags a filter cannot read", []string{"ENOSYS"}, "seccomp (clone3 answers ENOSYS)"},
	{"setns", "join another namespace (setns)", eperm, "seccomp (setns)"},
	{"keyctl", "reach the kernel's keyrings (keyctl)", eperm, "seccomp (keyctl)"},
	{"reboot", "reboot (with a bad magic number, so it never could)", eperm, "seccomp (reboot), CAP_SYS_BOOT dropped"},
	{"module", "load a kernel module (finit_module)", eperm, "user namespace, seccomp, CAP_SYS_MODULE dropped"},
	{"kexec", "load a new kernel (kexec_load)", eperm, "user namespace, seccomp"},
	{"clock", "set the system clock's timezone (settimeofday, out of range)", eperm, "user namespace, seccomp, CAP_SYS_TIME dropped"},
	{"bpf", "use bpf(2)", eperm, "seccomp (bpf)"},
	{"perf", "open a performance counter (perf_event_open)", eperm, "seccomp (perf_event_open)"},
	{"ptrace", "trace a process (ptrace)", eperm, "seccomp (ptrace), CAP_SYS_PTRACE dropped"},
	{"net_admin", "reconfigure a network interface (lo's MTU)", eperm, "CAP_NET_ADMIN dropped"},
	{"kcore", "read the kernel's memory, /proc/kcore", []string{"empty", "absent", "EACCES"}, "masked path, user namespace"},
	{"interrupts", "read the host's interrupt counters, /proc/interrupts", []string{"empty"}, "masked path"},
	{"sysctl", "write a sysctl, /proc/sys/net/ipv4/ip_forward", []string{"EROFS", "EACCES"}, "read-only /proc/sys, CAP_NET_ADMIN dropped"},
	{"mknod", "make a node for the host's first disk (mknod b 8 0)", eperm, "user namespace, CAP_MKNOD dropped"},
	{"image_device", "open a device node the image brings", []string{"EACCES"}, "nodev root (device allow-list)"},
}

var eperm = []string{"EPERM"}

// seccompOnly are the attacks that, with every capability given back
// (--cap-add ALL), only the seccomp filter still stops, and how.
var seccompOnly = map[string]string{
	"mount": "EPERM", "umount": "EPERM", "fsopen": "EPERM", "unshare": "EPERM", "clone": "EPERM",
	"clone3": "ENOSYS", "setns": "EPERM", "keyctl": "EPERM", "reboot": "EPERM", "perf": "EPERM", "ptrace": "EPERM",
}

// addImageDevice gives an image a device node at probe.ImageDevice: a
// character device 1,5, the zero device, standing in for a disk. Read,
// it gives zeros; nothing ever writes to it.
func addImageDevice(rootfs string) error {
	path := filepath.Join(rootfs, probe.ImageDevice)
	if err := unix.Mknod(path, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))); err != nil {
		return err
	}
	return os.Chmod(path, 0o666)
}

// RunAttacks runs the probe's attacks once in a container of the Env's
// binary, with the image device in place.
func (e *Env) RunAttacks(extraFlags ...string) (*engine.Result, error) {
	return e.Run(engine.Invocation{
		Flags:   e.RunFlags(extraFlags...),
		Probe:   []string{"report", "--attacks"},
		Prepare: addImageDevice,
	})
}

// blocked reports whether an attack's result is one that stops it.
func (a Attack) blocked(result string) bool { return slices.Contains(a.Blocked, result) }
