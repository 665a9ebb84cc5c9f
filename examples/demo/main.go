// Command demo shows VRRP failover between three routers running
// examples/failover, each in its own network namespace on one bridged LAN
// (documentation addresses only). It elects a master, kills it with
// SIGKILL, shows the takeover and its measured time, restarts it (it
// preempts back), and removes everything it created, also on Ctrl-C.
//
// Run it as root from the repository root: `make demo` or
// `go run ./examples/demo`. It takes about 10 seconds.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	vipAddr = "192.0.2.100"
	advert  = 100 * time.Millisecond
)

type router struct {
	name, ns, addr string
	prio           int
	cmd            *exec.Cmd
	exited         chan struct{}
}

type event struct {
	r      *router
	at     time.Time
	kind   string // state, vip-added, announced, ...
	fields map[string]string
}

type demo struct {
	bin     string
	lan     string
	routers []*router
	events  chan event
	wg      sync.WaitGroup
	mu      sync.Mutex
	ns      []string
}

func main() {
	keep := flag.Bool("v", false, "print every line the routers print")
	probe := flag.String("udp-probe", "", "internal: send one UDP datagram to `host:port` and exit")
	flag.Parse()
	if *probe != "" {
		if err := udpProbe(*probe); err != nil {
			fmt.Fprintln(os.Stderr, "demo: udp probe:", err)
			os.Exit(1)
		}
		return
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "demo: needs root (network namespaces, raw sockets): run `sudo make demo`")
		os.Exit(2)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		fmt.Fprintln(os.Stderr, "demo: needs the ip command (Debian package iproute2):", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	d := &demo{events: make(chan event, 256)}
	err := d.run(ctx, *keep)
	stop()
	d.cleanup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n==> "+format+"\n", args...)
}

func info(format string, args ...any) {
	fmt.Printf("    "+format+"\n", args...)
}

func sh(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// goTool finds the go command: $GO, $GOROOT/bin/go, PATH, /usr/local/go.
func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if r := os.Getenv("GOROOT"); r != "" && fileExists(filepath.Join(r, "bin", "go")) {
		return filepath.Join(r, "bin", "go")
	}
	if g, err := exec.LookPath("go"); err == nil {
		return g
	}
	return "/usr/local/go/bin/go"
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func (d *demo) run(ctx context.Context, verbose bool) error {
	tmp, err := os.MkdirTemp("", "kgo-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	step("building examples/failover")
	d.bin = filepath.Join(tmp, "failover")
	build := exec.CommandContext(ctx, goTool(), "build", "-o", d.bin, "./examples/failover")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build failover (run from the repository root): %w", err)
	}

	id := fmt.Sprintf("kgo-demo-%d", os.Getpid())
	d.lan = id + "-lan"
	step("creating namespaces: a LAN bridge (%s, client 192.0.2.1) and three routers", d.lan)
	if err := d.addNS(d.lan); err != nil {
		return err
	}
	must := func(errs ...error) error { return errors.Join(errs...) }
	if err := must(
		sh("ip", "-n", d.lan, "link", "add", "br0", "type", "bridge"),
		sh("ip", "-n", d.lan, "link", "set", "br0", "up"),
		sh("ip", "-n", d.lan, "addr", "add", "192.0.2.1/24", "dev", "br0"),
	); err != nil {
		return err
	}
	for i, spec := range []struct {
		n    string
		prio int
	}{{"a", 150}, {"b", 120}, {"c", 100}} {
		r := &router{name: spec.n, ns: id + "-" + spec.n, addr: fmt.Sprintf("192.0.2.%d", 11+i), prio: spec.prio}
		if err := d.addNS(r.ns); err != nil {
			return err
		}
		port := "veth-" + spec.n
		if err := must(
			sh("ip", "-n", d.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", r.ns),
			sh("ip", "-n", d.lan, "link", "set", port, "master", "br0"),
			sh("ip", "-n", d.lan, "link", "set", port, "up"),
			sh("ip", "-n", r.ns, "addr", "add", r.addr+"/24", "dev", "eth0"),
			sh("ip", "-n", r.ns, "link", "set", "eth0", "up"),
		); err != nil {
			return err
		}
		info("router %s: namespace %s, eth0 %s, priority %d", r.name, r.ns, r.addr, r.prio)
		d.routers = append(d.routers, r)
	}
	// Let the bridge ports reach forwarding (no STP: immediate).
	step("starting failover in each router (VRRPv3, advert %v, VIP %s/24)", advert, vipAddr)
	for _, r := range d.routers {
		if err := d.start(r, verbose); err != nil {
			return err
		}
	}
	m, err := d.waitMaster(ctx, 10*time.Second, nil)
	if err != nil {
		return err
	}
	info("MASTER is router %s (priority %d); the others are BACKUP", m.r.name, m.r.prio)
	if err := d.showVIP(ctx); err != nil {
		return err
	}

	mdi := 3*advert + time.Duration(256-120)*advert/256
	step("killing router %s (SIGKILL, no goodbye advert)", m.r.name)
	killed := m.r
	killAt := time.Now()
	_ = killed.cmd.Process.Kill()
	<-killed.exited
	n, err := d.waitMaster(ctx, 10*time.Second, killed)
	if err != nil {
		return err
	}
	info("router %s took over: kill → MASTER %.1f ms (Master_Down_Interval for prio 120 is %.1f ms)",
		n.r.name, ms(n.at.Sub(killAt)), ms(mdi))
	a, ok := d.waitKind(ctx, n.r, "announced", 2*time.Second)
	if !ok {
		return fmt.Errorf("router %s became MASTER but announced no GARP within 2 s", n.r.name)
	}
	info("router %s added %s and sent its first GARP burst %.1f ms after the kill", n.r.name, vipAddr, ms(a.at.Sub(killAt)))
	info("(a killed process cannot remove its VIP; removing the stale %s from router %s, as an operator would)", vipAddr, killed.name)
	if err := sh("ip", "-n", killed.ns, "addr", "del", vipAddr+"/24", "dev", "eth0"); err != nil {
		return err
	}
	if err := d.showVIP(ctx); err != nil {
		return err
	}

	step("restarting router %s (priority %d preempts back)", killed.name, killed.prio)
	restartAt := time.Now()
	if err := d.start(killed, verbose); err != nil {
		return err
	}
	p, err := d.waitMasterIs(ctx, killed, 10*time.Second)
	if err != nil {
		return err
	}
	info("router %s is MASTER again %.1f ms after restart (it waits one Master_Down_Interval first)", killed.name, ms(p.at.Sub(restartAt)))
	time.Sleep(300 * time.Millisecond) // let the old master's BACKUP transition print
	if err := d.showVIP(ctx); err != nil {
		return err
	}

	step("stopping routers gracefully (SIGTERM: priority-0 advert, VIP removed)")
	for _, r := range d.routers {
		d.stop(r)
	}
	held, err := d.vipHolders()
	if err != nil {
		return err
	}
	if len(held) != 0 {
		return fmt.Errorf("after SIGTERM, still holding %s: %v", vipAddr, held)
	}
	info("no namespace holds %s any more", vipAddr)
	step("done; removing namespaces")
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (d *demo) addNS(name string) error {
	if err := sh("ip", "netns", "add", name); err != nil {
		return err
	}
	d.mu.Lock()
	d.ns = append(d.ns, name)
	d.mu.Unlock()
	return sh("ip", "-n", name, "link", "set", "lo", "up")
}

func (d *demo) start(r *router, verbose bool) error {
	cmd := exec.Command("ip", "netns", "exec", r.ns, d.bin,
		"-iface", "eth0", "-vrid", "51", "-prio", fmt.Sprint(r.prio), "-vip", vipAddr+"/24",
		"-advert", advert.String(), "-garp-delay", "1s")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if verbose {
				fmt.Printf("    [%s] %s\n", r.name, line)
			}
			if ev, ok := parse(r, line); ok {
				if ev.kind == "state" && !verbose {
					fmt.Printf("    [%s] %s -> %s (%s)\n", r.name, ev.fields["from"], ev.fields["state"], ev.fields["reason"])
				}
				select {
				case d.events <- ev:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(r.exited)
	}()
	return nil
}

// parse reads `TIMESTAMP event=KIND k="v" ...`.
func parse(r *router, line string) (event, bool) {
	ts, rest, ok := strings.Cut(line, " ")
	if !ok {
		return event{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return event{}, false
	}
	ev := event{r: r, at: at, fields: map[string]string{}}
	for rest != "" {
		var kv string
		rest = strings.TrimLeft(rest, " ")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		if strings.HasPrefix(v, `"`) {
			end := strings.Index(v[1:], `"`)
			if end < 0 {
				break
			}
			kv, rest = v[1:end+1], v[end+2:]
		} else {
			kv, rest, _ = strings.Cut(v, " ")
		}
		ev.fields[k] = kv
	}
	ev.kind = ev.fields["event"]
	return ev, true
}

func (d *demo) waitMaster(ctx context.Context, timeout time.Duration, not *router) (event, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return event{}, ctx.Err()
		case <-t.C:
			return event{}, errors.New("no router became MASTER in time")
		case ev := <-d.events:
			if ev.kind == "state" && ev.fields["state"] == "MASTER" && ev.r != not {
				return ev, nil
			}
			if ev.kind == "error" {
				info("[%s] error: %s", ev.r.name, ev.fields["err"])
			}
		}
	}
}

func (d *demo) waitMasterIs(ctx context.Context, r *router, timeout time.Duration) (event, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ev, err := d.waitMaster(ctx, time.Until(deadline), nil)
		if err != nil {
			return ev, err
		}
		if ev.r == r {
			return ev, nil
		}
	}
	return event{}, fmt.Errorf("router %s did not become MASTER", r.name)
}

func (d *demo) waitKind(ctx context.Context, r *router, kind string, timeout time.Duration) (event, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return event{}, false
		case <-t.C:
			return event{}, false
		case ev := <-d.events:
			if ev.r == r && ev.kind == kind {
				return ev, true
			}
		}
	}
}

// vipHolders lists the routers whose eth0 holds the VIP.
func (d *demo) vipHolders() ([]string, error) {
	var held []string
	for _, r := range d.routers {
		out, err := exec.Command("ip", "-n", r.ns, "-o", "addr", "show", "dev", "eth0").Output()
		if err != nil {
			return nil, fmt.Errorf("ip -n %s addr show: %w", r.ns, err)
		}
		if strings.Contains(string(out), " "+vipAddr+"/") {
			held = append(held, r.name)
		}
	}
	return held, nil
}

// showVIP prints where the VIP is and which router the client's neighbour
// table resolves it to, both measured: it sends a UDP datagram to the VIP
// from the client namespace (so the kernel resolves it with ARP) and reads
// the client's neighbour entry. Anything but exactly one holder whose MAC
// the client resolves is an error.
func (d *demo) showVIP(ctx context.Context) error {
	held, err := d.vipHolders()
	if err != nil {
		return err
	}
	info("VIP %s is on router(s): %v", vipAddr, held)
	if len(held) != 1 {
		return fmt.Errorf("VIP %s is on %d routers (%v), want exactly one", vipAddr, len(held), held)
	}
	mac, err := d.resolveVIP(ctx)
	if err != nil {
		return fmt.Errorf("client: resolve %s: %w", vipAddr, err)
	}
	owner := ""
	for _, r := range d.routers {
		rmac, err := linkMAC(r.ns, "eth0")
		if err != nil {
			return err
		}
		if rmac == mac {
			owner = r.name
		}
	}
	if owner == "" {
		return fmt.Errorf("client resolves %s to %s, which is no router's eth0", vipAddr, mac)
	}
	info("the client (192.0.2.1) reaches %s at MAC %s = router %s", vipAddr, mac, owner)
	if owner != held[0] {
		return fmt.Errorf("client resolves %s to router %s, but router %s holds it", vipAddr, owner, held[0])
	}
	time.Sleep(time.Second) // give a human time to read
	return nil
}

// resolveVIP makes the client namespace send a UDP datagram to the VIP
// (the demo binary itself, re-run there with -udp-probe) and returns the
// MAC address of the client's neighbour entry for it once the kernel has
// one (at most about 3 s).
func (d *demo) resolveVIP(ctx context.Context) (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	var last string
	for range 15 {
		if err := sh("ip", "netns", "exec", d.lan, self, "-udp-probe", vipAddr+":9"); err != nil {
			return "", err
		}
		// The kernel answers the send at once and resolves in the background.
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		out, err := exec.Command("ip", "-j", "-n", d.lan, "neigh", "show", vipAddr, "dev", "br0").Output()
		if err != nil {
			return "", fmt.Errorf("ip neigh show: %w", err)
		}
		var entries []struct {
			LLAddr string   `json:"lladdr"`
			State  []string `json:"state"`
		}
		if err := json.Unmarshal(out, &entries); err != nil {
			return "", fmt.Errorf("ip -j neigh show: %w", err)
		}
		last = "no neighbour entry"
		if len(entries) == 1 {
			e := entries[0]
			last = fmt.Sprintf("neighbour entry %v", e.State)
			if e.LLAddr != "" && !slices.Contains(e.State, "INCOMPLETE") && !slices.Contains(e.State, "FAILED") {
				return e.LLAddr, nil
			}
		}
	}
	return "", fmt.Errorf("no answer to ARP after 15 probes (%s)", last)
}

// linkMAC returns the MAC address of link name in namespace ns.
func linkMAC(ns, name string) (string, error) {
	out, err := exec.Command("ip", "-j", "-n", ns, "link", "show", "dev", name).Output()
	if err != nil {
		return "", fmt.Errorf("ip -n %s link show %s: %w", ns, name, err)
	}
	var links []struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 || links[0].Address == "" {
		return "", fmt.Errorf("ip -n %s link show %s: no address in %q", ns, name, out)
	}
	return links[0].Address, nil
}

// udpProbe sends one datagram to addr (host:port); run by resolveVIP
// inside the client namespace.
func udpProbe(addr string) error {
	c, err := net.Dial("udp4", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("kgo-demo probe"))
	return err
}

func (d *demo) stop(r *router) {
	if r.cmd == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(3 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// cleanup kills every router still running and deletes the namespaces.
func (d *demo) cleanup() {
	for _, r := range d.routers {
		if r.cmd != nil && r.cmd.Process != nil {
			select {
			case <-r.exited:
			default:
				_ = r.cmd.Process.Kill()
				<-r.exited
			}
		}
	}
	d.wg.Wait()
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.ns) - 1; i >= 0; i-- {
		if err := sh("ip", "netns", "del", d.ns[i]); err != nil {
			fmt.Fprintln(os.Stderr, "demo: cleanup:", err)
		}
	}
	d.ns = nil
}
