package probe

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Link is one network interface as the probe sees it.
type Link struct {
	Name  string   `json:"name"`
	Up    bool     `json:"up"`
	Addrs []string `json:"addrs,omitempty"` // CIDRs, e.g. 10.88.0.2/24
}

// links lists every interface with its state and addresses.
func (r *Report) links() []Link {
	ifaces, err := net.Interfaces()
	if err != nil {
		r.problem("network interfaces", err)
		return nil
	}
	list := make([]Link, 0, len(ifaces))
	for _, i := range ifaces {
		l := Link{Name: i.Name, Up: i.Flags&net.FlagUp != 0}
		addrs, err := i.Addrs()
		if err != nil {
			r.problem("addresses of "+i.Name, err)
		}
		for _, a := range addrs {
			l.Addrs = append(l.Addrs, a.String())
		}
		list = append(list, l)
	}
	return list
}

// defaultGateway reads the IPv4 default route's gateway from
// /proc/net/route (the table of the reader's network namespace), or "".
func (r *Report) defaultGateway() string {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		r.problem("/proc/net/route", err)
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		// Iface Destination Gateway Flags ...: addresses in hex, host byte order.
		fields := strings.Fields(s.Text())
		if len(fields) < 3 || fields[1] != "00000000" {
			continue
		}
		raw, err := hex.DecodeString(fields[2])
		if err != nil || len(raw) != 4 {
			continue
		}
		ip := make(net.IP, 4)
		binary.BigEndian.PutUint32(ip, binary.LittleEndian.Uint32(raw))
		return ip.String()
	}
	return ""
}

// writable reports, for each path, "allowed" when it opens for writing
// (without writing anything) or the error that refused it.
func writable(paths []string) map[string]string {
	if len(paths) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			out[p] = err.Error()
			continue
		}
		f.Close()
		out[p] = "allowed"
	}
	return out
}

// createAll creates each path as a new file and reports "ok" or the error.
func createAll(paths []string) map[string]string {
	if len(paths) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			err = f.Close()
		}
		out[p] = "ok"
		if err != nil {
			out[p] = err.Error()
		}
	}
	return out
}

// Serve listens on addr (e.g. ":7000") and answers every connection the
// way Connect expects, until the process exits. It returns once the
// listener is bound, so a report printed after it is a promise.
func Serve(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go Echo(c)
		}
	}()
	return nil
}

// Echo answers one line of a connection with "echo " and the line.
func Echo(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err == nil {
		_, _ = c.Write([]byte("echo " + line))
	}
}

// Connect opens a TCP connection to addr, sends a token and expects it
// echoed back: "ok", or what went wrong.
func Connect(addr string) string {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	token := fmt.Sprintf("stepbox-%d-%d\n", os.Getpid(), time.Now().UnixNano())
	if _, err := c.Write([]byte(token)); err != nil {
		return err.Error()
	}
	reply, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	if reply != "echo "+token {
		return fmt.Sprintf("unexpected reply %q", strings.TrimSpace(reply))
	}
	return "ok"
}

func connectAll(addrs []string) map[string]string {
	if len(addrs) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, a := range addrs {
		out[a] = Connect(a)
	}
	return out
}
