package probe

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Options says what to gather beyond the fixed fields.
type Options struct {
	Look []string      // paths whose existence to report
	Read []string      // small files whose content to report
	Burn time.Duration // spin on every CPU this long and report CPU used

	Writable []string // paths to try opening for writing (nothing is written)
	Create   []string // new files to create
	Connect  []string // TCP addresses to exchange a token with

	Peek    []string // paths to read the start of (step 10's masked paths)
	Attacks bool     // run step 10's attacks (attacks.go)

	// Escape is a host path to hunt for, last of all: under every mount
	// point, and after the classic climb out of a chroot (escape.go).
	Escape string
}

// namespaceKinds are the entries of /proc/self/ns the checks compare.
var namespaceKinds = []string{"cgroup", "ipc", "mnt", "net", "pid", "user", "uts"}

// Collect gathers a report about the calling process. Whatever cannot be
// read is noted in Problems rather than failing the whole report.
func Collect(opts Options) *Report {
	r := &Report{
		PID:        os.Getpid(),
		PPID:       os.Getppid(),
		UID:        os.Getuid(),
		GID:        os.Getgid(),
		Namespaces: map[string]string{},
	}
	var err error
	if r.Hostname, err = os.Hostname(); err != nil {
		r.problem("hostname", err)
	}
	for _, kind := range namespaceKinds {
		if link, err := os.Readlink("/proc/self/ns/" + kind); err == nil {
			r.Namespaces[kind] = link
		} else {
			r.problem("namespace "+kind, err)
		}
	}
	r.UIDMap = r.readTrimmed("/proc/self/uid_map")
	r.GIDMap = r.readTrimmed("/proc/self/gid_map")
	r.ProcPIDs = r.procPIDs()
	r.Mounts = r.mounts()
	r.RootDir = r.rootEntries()
	r.Cgroups = r.cgroups()
	r.Caps, r.Seccomp, r.NoNewPrivs, r.SigIgn = r.status()
	r.FDsAtStart = atStart.fds
	r.CgroupsAtStart, _ = ParseCgroupFile(atStart.cgroups)
	r.Interfaces = r.interfaces()
	r.DevNull = devNull()
	r.Exists = lookAll(opts.Look)
	r.Files = r.readAll(opts.Read)
	r.Links = r.links()
	r.DefaultGateway = r.defaultGateway()
	r.Writable = writable(opts.Writable)
	r.Created = createAll(opts.Create)
	r.Connected = connectAll(opts.Connect)
	r.Peeked = peekAll(opts.Peek)
	if opts.Attacks {
		r.Attacks = Attacks()
	}
	if opts.Burn > 0 {
		b := burn(opts.Burn)
		r.Burn = &b
	}
	if opts.Escape != "" {
		// Last: the climb changes this process's root.
		r.Escape = hunt(opts.Escape, r.Mounts)
	}
	return r
}

func (r *Report) problem(what string, err error) {
	r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", what, err))
}

func (r *Report) readTrimmed(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		r.problem(path, err)
		return ""
	}
	return strings.TrimSpace(string(data))
}

// procPIDs lists the numeric entries of /proc: the processes this PID
// namespace's /proc shows.
func (r *Report) procPIDs() []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		r.problem("/proc", err)
		return nil
	}
	var pids []int
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			pids = append(pids, pid)
		}
	}
	sort.Ints(pids)
	return pids
}

func (r *Report) mounts() []Mount {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		r.problem("mount table", err)
		return nil
	}
	mounts, err := ParseMountinfo(string(data))
	if err != nil {
		r.problem("mount table", err)
	}
	return mounts
}

func (r *Report) rootEntries() []string {
	entries, err := os.ReadDir("/")
	if err != nil {
		r.problem("/", err)
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func (r *Report) cgroups() []CgroupLine {
	text := r.readTrimmed("/proc/self/cgroup")
	lines, err := ParseCgroupFile(text)
	if err != nil {
		r.problem("/proc/self/cgroup", err)
	}
	return lines
}

// ParseCgroupFile parses /proc/PID/cgroup: one "ID:controllers:path" a line.
func ParseCgroupFile(text string) ([]CgroupLine, error) {
	var lines []CgroupLine
	for _, line := range strings.Split(text, "\n") {
		if line == "" {
			continue
		}
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			return lines, fmt.Errorf("malformed line %q", line)
		}
		lines = append(lines, CgroupLine{ID: parts[0], Controllers: parts[1], Path: parts[2]})
	}
	return lines, nil
}

// status reads the capability sets, seccomp mode and no_new_privs flag
// from /proc/self/status.
func (r *Report) status() (caps map[string]string, seccomp, nnp, sigIgn string) {
	caps = map[string]string{}
	for _, line := range strings.Split(r.readTrimmed("/proc/self/status"), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.HasPrefix(key, "Cap"):
			caps[key] = value
		case key == "Seccomp":
			seccomp = value
		case key == "NoNewPrivs":
			nnp = value
		case key == "SigIgn":
			sigIgn = value
		}
	}
	return caps, seccomp, nnp, sigIgn
}

func (r *Report) interfaces() []string {
	ifaces, err := net.Interfaces()
	if err != nil {
		r.problem("network interfaces", err)
		return nil
	}
	names := make([]string, 0, len(ifaces))
	for _, i := range ifaces {
		names = append(names, i.Name)
	}
	return names
}

// devNull is "ok" when /dev/null is the null character device (1,3) and
// takes a write; otherwise it says what is wrong.
func devNull() string {
	var st unix.Stat_t
	if err := unix.Stat("/dev/null", &st); err != nil {
		return err.Error()
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		return fmt.Sprintf("not the null device (mode %o, device %d,%d)", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	if _, err := f.Write([]byte("x")); err != nil {
		return err.Error()
	}
	return "ok"
}

func lookAll(paths []string) map[string]bool {
	if len(paths) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, p := range paths {
		_, err := os.Lstat(p)
		seen[p] = err == nil
	}
	return seen
}

func (r *Report) readAll(paths []string) map[string]string {
	if len(paths) == 0 {
		return nil
	}
	files := map[string]string{}
	for _, p := range paths {
		if data, err := os.ReadFile(p); err == nil {
			files[p] = string(data)
		} else {
			r.problem(p, err)
		}
	}
	return files
}

// burn keeps every CPU the process may use busy for d and measures the CPU
// time it got. Under a quota of 0.5 CPUs it gets about 0.5 s a second.
func burn(d time.Duration) Burn {
	threads := runtime.GOMAXPROCS(0)
	var before, after unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &before)
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < threads; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spin(start.Add(d))
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	_ = unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := rusageSeconds(after) - rusageSeconds(before)
	return Burn{Threads: threads, WallSeconds: wall.Seconds(), CPUSeconds: cpu}
}

func spin(until time.Time) {
	x := 0
	for time.Now().Before(until) {
		for i := 0; i < 10000; i++ {
			x += i
		}
	}
	_ = x
}

func rusageSeconds(u unix.Rusage) float64 {
	tv := func(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(u.Utime) + tv(u.Stime)
}
