package harness

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/stepbox/stepbox/harness/probe"
)

// Step 07: a network namespace with a veth pair on a bridge. The
// "host side" of every container is the sandbox's own network namespace,
// so nothing here touches the real host's network.

// containerPort is where the first container of a two-container check
// answers.
const containerPort = "7000"

func checkInterfaces(e *Env) Outcome {
	res, out := e.report()
	if res == nil {
		return out
	}
	r := res.Report
	var names []string
	var lo, eth *probe.Link
	for i, l := range r.Links {
		names = append(names, l.Name)
		if l.Name == "lo" {
			lo = &r.Links[i]
		} else {
			eth = &r.Links[i]
		}
	}
	want := "lo, up, and one more interface, up, with an IPv4 address and the default route through a gateway on its subnet"
	if len(r.Links) != 2 || lo == nil || eth == nil {
		return fail(want, "interfaces %v%s", names, problems(res))
	}
	addr := ipv4Of(*eth)
	_, subnet, _ := net.ParseCIDR(addr)
	gw := net.ParseIP(r.DefaultGateway)
	if !lo.Up || !eth.Up || subnet == nil || gw == nil || !subnet.Contains(gw) {
		return fail(want, "lo up %v; %s up %v with %v; default gateway %q", lo.Up, eth.Name, eth.Up, eth.Addrs, r.DefaultGateway)
	}
	return pass()
}

// netScene is two containers at once on one host side: A answers on
// containerPort; while it runs, the harness answers on the gateway
// address and B connects to both.
type netScene struct {
	a, b           *Result
	aAddr, gateway string // A's IPv4 address and its default gateway
	bAddr          string
}

// twoContainers plays the scene; a failed outcome says what stopped it.
func (e *Env) twoContainers() (*netScene, Outcome) {
	s := &netScene{}
	out := fail("the first container to report", "it never did")
	var err error
	s.a, err = e.Run(Invocation{
		Flags: e.runFlags(),
		Probe: []string{"report", "--serve", ":" + containerPort, "--pause"},
		Hold: func(r *probe.Report) {
			out = e.secondContainer(s, r)
		},
	})
	if err != nil {
		return nil, fail("the first container to run", "a harness error: %v", err)
	}
	if s.a.Report == nil {
		return nil, fail("the first container's report", "none: %s", s.a.Describe())
	}
	return s, out
}

// secondContainer runs while A waits: it answers on A's gateway from
// A's host side and runs B there, connecting to the gateway and to A.
func (e *Env) secondContainer(s *netScene, a *probe.Report) Outcome {
	s.aAddr, s.gateway = addrOnly(firstIPv4(a)), a.DefaultGateway
	if s.aAddr == "" || s.gateway == "" {
		return fail("the first container with an IPv4 address and a default gateway", "address %q, gateway %q", s.aAddr, s.gateway)
	}
	hostSide, err := sandboxNetns(a)
	if err != nil {
		return fail("the first container's host side", "%v", err)
	}
	ln, err := listenIn(hostSide, net.JoinHostPort(s.gateway, "0"))
	if err != nil {
		return fail("a server on the gateway address "+s.gateway+" outside the container", "%v", err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go probe.Echo(c)
		}
	}()
	s.b, err = e.Run(Invocation{
		Flags:   e.runFlags(),
		Probe:   []string{"report", "--connect", net.JoinHostPort(s.aAddr, containerPort), "--connect", ln.Addr().String()},
		JoinNet: hostSide,
	})
	if err != nil {
		return fail("the second container to run", "a harness error: %v", err)
	}
	if s.b.Report == nil {
		return fail("a second container while the first runs", "%s", s.b.Describe())
	}
	s.bAddr = addrOnly(firstIPv4(s.b.Report))
	return pass()
}

func checkGateway(e *Env) Outcome {
	s, out := e.twoContainers()
	if !out.Pass {
		return out
	}
	for addr, got := range s.b.Report.Connected {
		if strings.HasPrefix(addr, s.gateway+":") && got != "ok" {
			return fail("a TCP exchange with a server on the gateway "+addr, "%s", got)
		}
	}
	return pass()
}

func checkContainers(e *Env) Outcome {
	s, out := e.twoContainers()
	if !out.Pass {
		return out
	}
	target := net.JoinHostPort(s.aAddr, containerPort)
	if s.bAddr == "" || s.bAddr == s.aAddr {
		return fail("two containers at once with different addresses", "%q and %q", s.aAddr, s.bAddr)
	}
	if got := s.b.Report.Connected[target]; got != "ok" {
		return fail(fmt.Sprintf("the second container (%s) to exchange a token over TCP with the first at %s", s.bAddr, target), "%s", got)
	}
	return pass()
}

// checkNetCleaned: after two containers, and after one whose command
// fails, the host side's links, addresses, routes and rules are as
// before, but for a bridge, which may stay for the next containers.
func checkNetCleaned(e *Env) Outcome {
	s, out := e.twoContainers()
	if !out.Pass {
		return out
	}
	failed, err := e.Run(Invocation{Flags: e.runFlags(), Cmd: []string{"/no-such-command"}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	for _, run := range []struct {
		what string
		res  *Result
	}{{"the second container", s.b}, {"the first container", s.a}, {"a container whose command was not found", failed}} {
		w := run.res.Witness
		if left, gone := netLeft(w.NetBefore, w.NetAfter); len(left) > 0 || len(gone) > 0 {
			return fail("the host side's network as before (a bridge may stay), after "+run.what,
				"left behind: %s; gone: %s", shortList(left, 6), shortList(gone, 6))
		}
	}
	return pass()
}

// firstIPv4 is the first IPv4 address (CIDR) on an interface other than lo.
func firstIPv4(r *probe.Report) string {
	for _, l := range r.Links {
		if l.Name != "lo" {
			if a := ipv4Of(l); a != "" {
				return a
			}
		}
	}
	return ""
}

func ipv4Of(l probe.Link) string {
	for _, a := range l.Addrs {
		if ip, _, err := net.ParseCIDR(a); err == nil && ip.To4() != nil {
			return a
		}
	}
	return ""
}

func addrOnly(cidr string) string {
	ip, _, err := net.ParseCIDR(cidr)
	if err != nil {
		return ""
	}
	return ip.String()
}

// sandboxNetns finds the network namespace of the sandbox around a live
// container: the ancestor of its processes that the harness started.
// Never anything above it, so a container without its own network
// namespace cannot lead a check to the host's.
func sandboxNetns(r *probe.Report) (string, error) {
	pids := procsInNamespace("pid", r.Namespaces["pid"])
	if len(pids) == 0 {
		return "", fmt.Errorf("no process of the container found in %s", r.Namespaces["pid"])
	}
	for pid, hops := pids[0], 0; pid > 1 && hops < 16; hops++ {
		parent := parentPID(pid)
		if parent == os.Getpid() {
			return fmt.Sprintf("/proc/%d/ns/net", pid), nil
		}
		pid = parent
	}
	return "", fmt.Errorf("the container's process %d does not descend from a sandbox of this harness", pids[0])
}

func parentPID(pid int) int {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		var ppid int
		if _, err := fmt.Sscanf(line, "PPid:\t%d", &ppid); err == nil {
			return ppid
		}
	}
	return 0
}

// listenIn opens a TCP listener in the network namespace at nsPath. A
// socket stays in the namespace it was made in, so only the making is
// done on a thread moved there; that thread is never used again (a
// goroutine that ends locked takes its thread with it).
func listenIn(nsPath, addr string) (net.Listener, error) {
	type result struct {
		ln  net.Listener
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := joinNetns(nsPath); err != nil {
			done <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", addr)
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}

// joinNetns moves the calling thread into the network namespace at
// path; "" leaves it where it is.
func joinNetns(path string) error {
	if path == "" {
		return nil
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening network namespace %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("joining network namespace %s: %w", path, err)
	}
	return nil
}

// netState lists the calling thread's network namespace: links,
// IPv4 addresses and routes (all tables) and policy rules, one sorted line
// each. Left out is what the kernel changes on its own while a link
// lives: its operational state, IPv6 link-local addresses and their routes.
func netState() []string {
	var lines []string
	links, err := netlink.LinkList()
	if err != nil {
		return []string{"links unreadable: " + err.Error()}
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	for _, l := range links {
		a := l.Attrs()
		lines = append(lines, fmt.Sprintf("link %s %s master=%s", a.Name, l.Type(), names[a.MasterIndex]))
		addrs, _ := netlink.AddrList(l, netlink.FAMILY_V4)
		for _, addr := range addrs {
			lines = append(lines, fmt.Sprintf("addr %s %s", a.Name, addr.IPNet))
		}
	}
	routes, _ := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	for _, r := range routes {
		lines = append(lines, fmt.Sprintf("route table=%d dst=%v gw=%v dev=%s", r.Table, r.Dst, r.Gw, names[r.LinkIndex]))
	}
	rules, _ := netlink.RuleList(netlink.FAMILY_ALL)
	for _, r := range rules {
		lines = append(lines, "rule "+r.String())
	}
	slices.Sort(lines)
	return lines
}

// settledNetState reads the network after a run. The kernel removes a
// dead namespace's veth pair on its own, a moment later, so give it up
// to two seconds to match before (but for a kept bridge), then take what
// is there.
func settledNetState(before []string) []string {
	now := netState()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		if left, gone := netLeft(before, now); len(left) == 0 && len(gone) == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
		now = netState()
	}
	return now
}

// netLeft compares two netState listings of a host side, before and
// after containers ran on it: the lines left behind and the lines gone.
// A bridge may stay, with its addresses and the routes through it, as
// docker keeps docker0: it is the containers' shared switch, not one
// container's. Whatever was plugged into it may not.
func netLeft(before, after []string) (left, gone []string) {
	b, a := withoutBridges(before), withoutBridges(after)
	return multisetMinus(a, b), multisetMinus(b, a)
}

// withoutBridges drops the bridges from a netState listing: their link
// lines, their addresses and the routes through them.
func withoutBridges(lines []string) []string {
	bridges := map[string]bool{}
	for _, line := range lines {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "link" && f[2] == "bridge" {
			bridges[f[1]] = true
		}
	}
	var out []string
	for _, line := range lines {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && (f[0] == "link" || f[0] == "addr") && bridges[f[1]]:
		case len(f) >= 2 && f[0] == "route" && bridges[strings.TrimPrefix(f[len(f)-1], "dev=")]:
		default:
			out = append(out, line)
		}
	}
	return out
}
