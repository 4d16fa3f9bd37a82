package harness

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/stepbox/stepbox/harness/engine"
	"github.com/stepbox/stepbox/harness/probe"
)

// Step 07's way out and way in: outbound NAT and published ports. Each
// check makes two network namespaces of its own: the "host side", which
// the sandbox joins, and "the outside", cabled to it by a veth pair on
// a documentation subnet (RFC 5737), with a default route back through
// the host side. Nothing is sent anywhere else.
const (
	uplinkAddr  = "192.0.2.1" // the host side's address towards the outside
	outsideAddr = "192.0.2.2" // the outside's own address
	hostPort    = "8080"      // the published port on the host side
)

// world is a host side cabled to an outside.
type world struct {
	host, outside *engine.Netns
}

// newWorld makes both namespaces and the cable between them. Forwarding
// starts off on the host side, whatever the host has: turning it on is
// the runtime's job.
func newWorld() (*world, error) {
	w := &world{}
	var err error
	if w.host, err = engine.NewNetns(); err != nil {
		return nil, err
	}
	if w.outside, err = engine.NewNetns(); err != nil {
		w.host.Close()
		return nil, err
	}
	if err := w.cable(); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *world) close() {
	w.host.Close()
	w.outside.Close()
}

// cable adds the veth pair "uplink" (host side) / "world0" (outside),
// their addresses and the outside's default route, sets everything up,
// and turns forwarding off on the host side.
func (w *world) cable() error {
	host, err := netlink.NewHandleAt(netns.NsHandle(w.host.Fd()))
	if err != nil {
		return err
	}
	defer host.Close()
	out, err := netlink.NewHandleAt(netns.NsHandle(w.outside.Fd()))
	if err != nil {
		return err
	}
	defer out.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "uplink"}, PeerName: "world0", PeerNamespace: netlink.NsFd(w.outside.Fd())}
	if err := host.LinkAdd(veth); err != nil {
		return fmt.Errorf("cabling the outside: %w", err)
	}
	if err := upWithAddress(host, "uplink", uplinkAddr); err != nil {
		return err
	}
	if err := upWithAddress(out, "world0", outsideAddr); err != nil {
		return err
	}
	world0, err := out.LinkByName("world0")
	if err != nil {
		return err
	}
	if err := out.RouteAdd(&netlink.Route{LinkIndex: world0.Attrs().Index, Gw: net.ParseIP(uplinkAddr)}); err != nil {
		return fmt.Errorf("the outside's default route: %w", err)
	}
	return engine.InThread(w.host.Path(), func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("0\n"), 0o644)
	})
}

// upWithAddress sets lo and link up and gives link addr/24.
func upWithAddress(h *netlink.Handle, link, addr string) error {
	for _, name := range []string{"lo", link} {
		l, err := h.LinkByName(name)
		if err != nil {
			return err
		}
		if name == link {
			a := &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(addr), Mask: net.CIDRMask(24, 32)}}
			if err := h.AddrAdd(l, a); err != nil {
				return fmt.Errorf("adding %s to %s: %w", addr, name, err)
			}
		}
		if err := h.LinkSetUp(l); err != nil {
			return fmt.Errorf("setting %s up: %w", name, err)
		}
	}
	return nil
}

// checkNAT: a container connects to a server in the outside, which sees
// the host side's address, not the container's.
func checkNAT(e *Env) Outcome {
	w, err := newWorld()
	if err != nil {
		return fail("a host side and an outside for the check", "a harness error: %v", err)
	}
	defer w.close()
	ln, err := listenIn(w.outside.Path(), net.JoinHostPort(outsideAddr, "0"))
	if err != nil {
		return fail("a server in the outside", "a harness error: %v", err)
	}
	defer ln.Close()
	peers := make(chan string, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peer, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			peers <- peer
			go probe.Echo(c)
		}
	}()
	server := ln.Addr().String()
	res, err := e.Run(engine.Invocation{Flags: e.RunFlags(), Probe: []string{"report", "--connect", server}, JoinNet: w.host.Path()})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if res.Report == nil {
		return fail("the container's report", "none: %s", res.Describe())
	}
	if ns := res.Report.Namespaces["net"]; ns == "" || ns == res.Witness.Namespaces["net"] {
		return fail("the container in a network namespace of its own, behind the host side", "it is in the host side's, %s", ns)
	}
	if got := res.Report.Connected[server]; got != "ok" {
		return fail("the container to exchange a token over TCP with a server outside the host side, at "+server, "%s", got)
	}
	if peer := <-peers; peer != uplinkAddr {
		return fail("the server outside to see the host side's address "+uplinkAddr+" (masqueraded)", "it saw %s", peer)
	}
	return pass()
}

// checkPorts: with -p 8080:80, busybox httpd in the container answers on
// the host side's address, from the outside and from the host side
// itself; once the container has exited, no dnat rule is left and the
// port answers nothing.
func checkPorts(e *Env) Outcome {
	w, err := newWorld()
	if err != nil {
		return fail("a host side and an outside for the check", "a harness error: %v", err)
	}
	defer w.close()
	page := fmt.Sprintf("stepbox-page-%d", time.Now().UnixNano())
	target := net.JoinHostPort(uplinkAddr, hostPort)
	out := fail("the container to start busybox httpd and report", "it never did")
	res, err := e.Run(engine.Invocation{
		Flags: e.RunFlags("-p", hostPort+":80"),
		Cmd: []string{"/bin/sh", "-c", "mkdir -p /tmp/www && echo " + page + " > /tmp/www/index.html && " +
			"/bin/busybox httpd -p 80 -h /tmp/www && exec /probe report --pause"},
		JoinNet: w.host.Path(),
		Hold: func(*probe.Report) {
			out = getsPage(w, target, page)
		},
	})
	if err != nil {
		return fail("the container to run", "a harness error: %v", err)
	}
	if !out.Pass {
		return fail(out.Expected, "%s (%s)", out.Got, res.Describe())
	}
	if left := engine.DNATRules(res.Witness.After.Net); len(left) > 0 {
		var where []string
		for _, rule := range left {
			where = append(where, strings.Join(strings.Fields(rule)[2:4], " ")) // table and chain
		}
		return fail("no dnat rule left once the container has exited", "%d left, in %s", len(left), strings.Join(where, ", "))
	}
	if got, err := httpGet(w.outside.Path(), target); err == nil {
		return fail("nothing to answer on "+target+" once the container has exited", "%q", got)
	}
	return pass()
}

// getsPage asks for the page from the outside (through prerouting) and
// from the host side itself (through output).
func getsPage(w *world, target, page string) Outcome {
	for _, from := range []struct{ name, ns string }{{"the outside", w.outside.Path()}, {"the host side", w.host.Path()}} {
		got, err := httpGet(from.ns, target)
		if err != nil || !strings.Contains(got, page) {
			return fail(fmt.Sprintf("a client on %s to get the page of busybox httpd in the container from %s", from.name, target),
				"%q, error %v", got, err)
		}
	}
	return pass()
}

// httpGet asks addr for / over HTTP/1.0 from the network namespace at
// nsPath, and returns the whole answer.
func httpGet(nsPath, addr string) (string, error) {
	var answer []byte
	err := engine.InThread(nsPath, func() error {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
			return err
		}
		answer, err = io.ReadAll(c)
		return err
	})
	return string(answer), err
}

// checkPortsBadInput: a good -p is taken; bad ones exit 2 with one line;
// a host port a running container has published exits 125 with one
// line; none leaves anything on the host side.
func checkPortsBadInput(e *Env) Outcome {
	if out := e.takes("-p", "8080:80"); !out.Pass {
		return out
	}
	for _, value := range []string{"0:80", "70000:80", "8080:80/sctp", "http:80", "8080"} {
		res, err := e.Run(engine.Invocation{Argv: append(append([]string{"run"}, e.RunFlags("-p", value)...), "/bin/true")})
		if err != nil {
			return fail("the binary to run", "a harness error: %v", err)
		}
		if out := refused(res, 2, "-p "+value); !out.Pass {
			return out
		}
	}
	return portInUse(e)
}

// portInUse: while a container has published 8080, a second one asking
// for it is refused with 125, and leaves the first one's rules alone.
func portInUse(e *Env) Outcome {
	host, err := engine.NewNetns()
	if err != nil {
		return fail("a host side for the check", "a harness error: %v", err)
	}
	defer host.Close()
	out := fail("the first container, with -p 8080:80, to report", "it never did")
	_, err = e.Run(engine.Invocation{
		Flags: e.RunFlags("-p", "8080:80"), Probe: []string{"report", "--pause"}, JoinNet: host.Path(),
		Hold: func(*probe.Report) {
			second, err := e.Run(engine.Invocation{Flags: e.RunFlags("-p", "8080:80"), Probe: []string{"exit", "0"}, JoinNet: host.Path()})
			if err != nil {
				out = fail("the second container to run", "a harness error: %v", err)
				return
			}
			out = refused(second, 125, "-p 8080:80 while another running container has published it")
		},
	})
	if err != nil {
		return fail("the first container to run", "a harness error: %v", err)
	}
	return out
}

// refused: the run exited with status, one line on stderr and no panic,
// and left the host side's network as it was.
func refused(res *engine.Result, status int, what string) Outcome {
	lines := strings.Split(strings.TrimSpace(res.Stderr), "\n")
	if res.Exit != status || len(lines) != 1 || lines[0] == "" || hasPanic(res.Stderr) {
		return fail(fmt.Sprintf("%s refused: exit status %d and one line on stderr", what, status), "%s", res.Describe())
	}
	w := res.Witness
	if left, gone := engine.NetLeft(w.Before.Net, w.After.Net); len(left) > 0 || len(gone) > 0 {
		return fail("the host side's network as before after refusing "+what, "left behind: %s; gone: %s",
			engine.ShortList(left, 4), engine.ShortList(gone, 4))
	}
	return pass()
}
