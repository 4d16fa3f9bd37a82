package harness

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 07: network namespace, veth pair and bridge.
var step07 = Step{
	N: 7,
	Todos: []Todo{
		{Anchor: "unix.CLONE_NEWIPC,",
			Text: "the container needs a network namespace of its own: its own interfaces, addresses, routes and ports."},
		{Anchor: "go forwardSignals(signals, cmd.Process)", After: true,
			Text: "while the child still waits, cable it to the host side: an interface of its own on a bridge all containers share (made once, with forwarding and a masquerade rule, and kept), a free address for each container, and a default route through the bridge's gateway address; publish the ports asked for. Whatever happens, remove what this container added. (An ordinary user may not: loopback alone, and say so.)"},
		{Anchor: `gidMap := flags.String("gid-map"`, After: true,
			Text: "-p HOST_PORT:CONTAINER_PORT[/tcp|udp], given again for each port: refuse a port outside 1-65535 or another protocol with exit 2."},
		{Anchor: "if err := makeMountsPrivate(); err != nil {",
			Text: "programs inside must be able to talk to each other over loopback."},
	},
	Checks: []Check{
		{
			ID: "net.ns_new", Step: 7,
			Proves: "the container has its own network namespace",
			Hints: [...]string{
				"/proc/self/ns/net inside must differ from the host side's: the container needs a network of its own.",
				"Add unix.CLONE_NEWNET to Cloneflags.",
				"A new network namespace has only lo, and lo is down: the flag alone cuts the container off, even from itself, until the rest of the step is done.",
			},
			Mutants: []Mutant{
				{"net.ns_new", 7, "forgets CLONE_NEWNET, so the container shares the host side's network",
					[]Edit{{"unix.CLONE_NEWNET, //", "0, //", ""}}},
			},
			Run: newNamespace("net"),
		},
		{
			ID: "net.interfaces", Step: 7,
			Proves: "inside there are only lo and the container's interface, both up, with an address and a default route through a gateway",
			Hints: [...]string{
				"Inside, list the interfaces: only lo and the container's own, both up, the container's with an address, and a default route through a gateway. Which of these is missing?",
				"In the child set lo up (netlink.LinkSetUp). In the parent, while the child waits: netlink.LinkAdd a netlink.Veth, move its peer into the child with netlink.LinkSetNsPid, then in that namespace (netlink.NewHandleAt) add the address, set it up and add the default route via the gateway.",
				"lo starts down in every new network namespace, and a default route can only be added once its interface is up and has an address in the gateway's subnet.",
			},
			Mutants: []Mutant{
				{"net.interfaces", 7, "leaves the container's loopback down",
					[]Edit{dropCall("setLoopbackUp()")}},
			},
			Run: checkInterfaces,
		},
		{
			ID: "net.gateway", Step: 7,
			Proves: "the container reaches its gateway, the host side, over TCP",
			Hints: [...]string{
				"From inside, the container must reach its gateway address over TCP: is that address anywhere on the host side, and is the cable plugged in at that end?",
				"Create the bridge (netlink.Bridge) on the host side, put the gateway address on it (netlink.AddrAdd), plug the host end of the veth pair in (netlink.LinkSetMaster) and set the bridge and that end up.",
				"Both ends of a veth pair, and the bridge, must be up: an address on a down interface answers nothing, with no error anywhere.",
			},
			Mutants: []Mutant{
				{"net.gateway", 7, "never puts the gateway address on the bridge",
					[]Edit{{"if err := addGatewayAddress(bridge); err != nil {", "if err := error(nil); err != nil {", "network.go"}}},
			},
			Run: checkGateway,
		},
		{
			ID: "net.containers", Step: 7,
			Proves: "two containers at once get different addresses and talk over TCP through the bridge",
			Hints: [...]string{
				"Two containers started together must get different addresses and reach each other through the bridge.",
				"Allocate each container the lowest address not in use, judged from what exists (the host ends' names or the bridge's neighbours), under a lock, and plug every host end into the same bridge.",
				"A fixed address, or two runtimes picking the lowest free one at the same moment, gives both containers one address, or `file exists` for the second veth pair: take a lock around the choice and the creation.",
			},
			Mutants: []Mutant{
				{"net.containers", 7, "gives every container the first address, used or not",
					[]Edit{{"if !used[hex.EncodeToString(ip)] {", "if true {", "network.go"}}},
			},
			Run: checkContainers,
		},
		{
			ID: "net.nat", Step: 7,
			Proves: "the container reaches a server beyond the host side, which sees the host side's address, not the container's",
			Hints: [...]string{
				"From inside, the container must reach a server on another network the host side is cabled to, and that server must see the host side's address: the host side forwards the container's packets and rewrites their source.",
				"With the bridge: write 1 to /proc/sys/net/ipv4/ip_forward, and with github.com/google/nftables add a table with a nat chain on the postrouting hook holding `ip saddr SUBNET oifname != BRIDGE masquerade` (expr.Payload, expr.Bitwise, expr.Cmp, expr.Meta, expr.Masq), then Flush.",
				"Forwarding is off in every new network namespace, and without masquerade the packets do leave, with the container's private source, so the answers never find their way back (or the server sees an address it should not).",
			},
			Mutants: []Mutant{
				{"net.nat", 7, "never adds the masquerade rule, so the outside sees the container's own address",
					[]Edit{{"nft.AddRule(&nftables.Rule{Table: natTable, Chain: postrouting, Exprs: masquerade()})", "", "nat.go"}}},
				{"net.nat", 7, "never turns on forwarding, so the host side drops what the container sends out",
					[]Edit{{`[]byte("1\n")`, `[]byte("0\n")`, "nat.go"}}},
			},
			Run: checkNAT,
		},
		{
			ID: "net.ports", Step: 7,
			Proves: "with -p 8080:80, busybox httpd in the container answers on the host side's address, from outside and from the host side, and nothing of it is left once the container exits",
			Hints: [...]string{
				"-p 8080:80 must send connections to port 8080 of the host side's addresses to port 80 of the container, from other hosts and from the host side itself, for as long as the container runs, and not a moment longer.",
				"Add `fib daddr type local tcp dport 8080 dnat to CONTAINER:80` to nat chains on the prerouting hook (from outside) and on the output hook (the host side's own connections), tagged with the container (Rule.UserData), and delete the rules so tagged once the container has exited.",
				"Prerouting never sees the host side's own connections (only output does), and a rule left after its container sends the port to an address nobody has: tag each rule with something that dies with the container (its veth's name) so a later run can sweep what a crash left.",
			},
			Mutants: []Mutant{
				{"net.ports", 7, "parses -p but never adds the dnat rules",
					[]Edit{{"nft.AddRule(&nftables.Rule{Table: natTable, Chain: chain, Exprs: p.dnat(ip), UserData: ruleTag(hostEnd, p)})", "_ = chain", "ports.go"}}},
				{"net.ports", 7, "never removes its dnat rules when the container exits",
					[]Edit{{"\treturn unpublishPorts(n.hostEnd)\n", "\treturn nil\n", "network.go"}}},
				{"net.ports", 7, "reads -p backwards, CONTAINER_PORT:HOST_PORT",
					[]Edit{{`hostPart, containerPart, found := strings.Cut(spec, ":")`, `containerPart, hostPart, found := strings.Cut(spec, ":")`, "ports.go"}}},
			},
			Run: checkPorts,
		},
		{
			ID: "net.ports_bad_input", Step: 7,
			Proves: "a good -p is taken; a bad one exits 2 and a port another container has published exits 125, with one line, leaving nothing",
			Hints: [...]string{
				"-p 8080:80 must be accepted; port 0, 70000, a protocol other than tcp or udp, a name or a lone port refused with one line and exit 2; and a host port that a running container has published refused with exit 125, leaving that container's rules alone.",
				"Parse each -p with strconv.ParseUint(s, 10, 16), refusing 0, while parsing flags. Under the network lock, list the rules of your nat chains (nftables GetRules), read their tags, and refuse a host port already taken before adding any rule.",
				"ParseUint with bitSize 16 already refuses 70000, but not 0; and a check for a taken port outside the lock lets two containers that start together both take it.",
			},
			Mutants: []Mutant{
				{"net.ports_bad_input", 7, "accepts port 0",
					[]Edit{{"if err != nil || n == 0 {", "if err != nil {", "ports.go"}}},
				{"net.ports_bad_input", 7, "publishes a port a running container has published already",
					[]Edit{{"if owner, ok := taken[p.tag()]; ok {", "if owner, ok := taken[p.tag()]; ok && owner == \"\" {", "ports.go"}}},
			},
			Run: checkPortsBadInput,
		},
		{
			ID: "net.cleaned", Step: 7,
			Proves: "after the containers exit, also after a failure, the host side's links, addresses, routes and rules are as before, but for the bridge, which may stay",
			Hints: [...]string{
				"After the containers exit, normally or after a failure, the host side must look as it did: links, addresses, routes and rules. Only the bridge they share may stay, ready for the next container.",
				"Create the veth's peer straight inside the child's network namespace (netlink.Veth with PeerNamespace) and hold nothing of that namespace once it is set up (close the netns handle, bind-mount it nowhere): when the container's last process exits, the kernel deletes the namespace, and the pair with it.",
				"A network namespace lives as long as anything holds it: a process, an open /proc/PID/ns/net, a bind mount as `ip netns add` makes. Pin it and the host end stays on the bridge for good. (Deleting the pair yourself works too, but waits tens of milliseconds on the kernel.)",
			},
			Mutants: []Mutant{
				{"net.cleaned", 7, "pins each container's network namespace with a bind mount, as `ip netns add` does, and never lets go: the host end of its veth pair stays",
					[]Edit{{"\tdefer ns.Close()\n", "\tdefer ns.Close()\n\tif pin, err := os.Create(fmt.Sprintf(\"netns-%d\", childPID)); err == nil {\n\t\tpin.Close()\n\t\t_ = unix.Mount(fmt.Sprintf(\"/proc/%d/ns/net\", childPID), pin.Name(), \"\", unix.MS_BIND, \"\")\n\t}\n", "network.go"}}},
			},
			Run: checkNetCleaned,
		},
	},
}

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
	a, b           *engine.Result
	aAddr, gateway string // A's IPv4 address and its default gateway
	bAddr          string
}

// twoContainers plays the scene; a failed outcome says what stopped it.
func (e *Env) twoContainers() (*netScene, Outcome) {
	s := &netScene{}
	out := fail("the first container to report", "it never did")
	var err error
	s.a, err = e.Run(engine.Invocation{
		Flags: e.RunFlags(),
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
	s.b, err = e.Run(engine.Invocation{
		Flags:   e.RunFlags(),
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
	failed, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Cmd: []string{"/no-such-command"}})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	for _, run := range []struct {
		what string
		res  *engine.Result
	}{{"the second container", s.b}, {"the first container", s.a}, {"a container whose command was not found", failed}} {
		w := run.res.Witness
		if left, gone := engine.NetLeft(w.Before.Net, w.After.Net); len(left) > 0 || len(gone) > 0 {
			return fail("the host side's network as before (a bridge may stay), after "+run.what,
				"left behind: %s; gone: %s", engine.ShortList(left, 6), engine.ShortList(gone, 6))
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
		if err := engine.JoinNetns(nsPath); err != nil {
			done <- result{err: err}
			return
		}
		ln, err := net.Listen("tcp", addr)
		done <- result{ln, err}
	}()
	r := <-done
	return r.ln, r.err
}
