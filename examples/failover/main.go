// Command failover embeds VRRP failover in a Go program: a vrrp.Instance on
// the Linux raw-socket transport decides who is master, and a vip.Manager
// adds the virtual address and announces it (gratuitous ARP / unsolicited
// NA) on MASTER and removes it on BACKUP, FAULT or exit.
//
//	failover -iface eth0 -vrid 51 -prio 150 -vip 192.0.2.100/24 -advert 100ms
//
// Every event is one line on stdout: an RFC 3339 timestamp with
// microseconds, then key=value pairs. SIGINT/SIGTERM stop it cleanly
// (priority-0 advertisement, address removed). Needs CAP_NET_RAW and
// CAP_NET_ADMIN.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

func main() {
	iface := flag.String("iface", "eth0", "interface")
	vrid := flag.Uint("vrid", 51, "virtual router ID (1-255)")
	prio := flag.Uint("prio", 100, "priority (1-255; 255 = address owner)")
	vips := flag.String("vip", "192.0.2.100/24", "virtual address(es), comma-separated, one family")
	advert := flag.Duration("advert", time.Second, "advertisement interval")
	version := flag.Int("version", 3, "VRRP version (2 or 3)")
	peers := flag.String("peers", "", "unicast peers, comma-separated (default multicast)")
	nopreempt := flag.Bool("nopreempt", false, "do not preempt a lower-priority master")
	pass := flag.String("auth-pass", "", "VRRPv2 password (auth_pass)")
	ah := flag.Bool("auth-ah", false, "VRRPv2 AH authentication keyed with -auth-pass (default: simple password)")
	garpDelay := flag.Duration("garp-delay", 5*time.Second, "delay of the second GARP/NA burst (negative: none)")
	flag.Parse()
	// Checked here: uint8() would silently wrap -vrid 307 to 51, and
	// vrrp.Config takes a priority of 0 (what -prio 256 wraps to) as "default".
	for _, f := range []struct {
		name string
		v    uint
	}{{"vrid", *vrid}, {"prio", *prio}} {
		if f.v < 1 || f.v > 255 {
			say("error", "err", fmt.Sprintf("-%s %d: must be 1-255", f.name, f.v))
			os.Exit(2)
		}
	}
	if err := run(*iface, uint8(*vrid), uint8(*prio), *vips, *advert, *version, *peers, *nopreempt, *pass, *ah, *garpDelay); err != nil {
		say("error", "err", err)
		os.Exit(1)
	}
}

// say prints one event line.
func say(event string, kv ...any) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s event=%s", time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), event)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, " %v=%q", kv[i], fmt.Sprint(kv[i+1]))
	}
	fmt.Println(b.String())
}

func run(iface string, vrid, prio uint8, vipList string, advert time.Duration, version int,
	peerList string, nopreempt bool, pass string, ah bool, garpDelay time.Duration) error {
	var prefixes []netip.Prefix
	var addrs, peers []netip.Addr
	for s := range strings.SplitSeq(vipList, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-vip: %w", err)
		}
		prefixes, addrs = append(prefixes, p), append(addrs, p.Addr())
	}
	for s := range strings.SplitSeq(peerList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return fmt.Errorf("-peers: %w", err)
			}
			peers = append(peers, a)
		}
	}
	v6 := addrs[0].Is6()

	conn, err := vrrp.Listen(vrrp.ConnConfig{Interface: iface, IPv6: v6})
	if err != nil {
		return err
	}
	defer conn.Close()
	var tr vrrp.Transport
	if ah {
		tr, err = conn.TransportAH(vrid, []byte(pass))
	} else {
		tr, err = conn.Transport(vrid)
	}
	if err != nil {
		return err
	}
	vm, err := vip.New(vip.Config{Announce: vip.AnnouncePolicy{SecondBurstDelay: garpDelay}})
	if err != nil {
		return err
	}
	defer vm.Close() // removes exactly the addresses we added

	cfg := vrrp.Config{
		Name: iface, VRID: vrid, Priority: prio, Version: version, AdvertInterval: advert,
		Source: conn.Source(), Addrs: addrs, Peers: peers, NoPreempt: nopreempt,
	}
	if len(peers) > 0 {
		// As keepalived: no TTL check on unicast (keepalived 2.2.7 itself
		// sends IPv6 unicast adverts with hop limit 64).
		cfg.UnicastTTL = vrrp.TTLRange{Min: 1, Max: 255}
	}
	switch {
	case ah:
		cfg.AuthType = vrrp.AuthAH
	case pass != "":
		cfg.AuthType, cfg.AuthPass = vrrp.AuthSimple, pass
	}
	inst, err := vrrp.New(cfg, tr)
	if err != nil {
		return err
	}
	// Watch queues every transition without ever blocking the instance's
	// loop; the channel closes once Run has returned (after the STOP
	// transition), so it gets a ctx that outlives Run.
	transitions := inst.Watch(context.Background())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	say("start", "iface", iface, "vrid", vrid, "prio", prio, "version", version, "advert", advert, "src", conn.Source(), "vip", vipList)

	done := make(chan error, 1)
	go func() { done <- inst.Run(ctx) }()
	for t := range transitions {
		ts := []vrrp.Transition{t}
	more: // take what else is queued: only the latest state decides
		for {
			select {
			case t, ok := <-transitions:
				if !ok {
					break more
				}
				ts = append(ts, t)
			default:
				break more
			}
		}
		for _, t := range ts {
			say("state", "state", t.To, "from", t.From, "reason", t.Reason, "prio", t.Priority)
		}
		if last := ts[len(ts)-1].To; last != vrrp.StateStop {
			apply(ctx, say, vm, iface, prefixes, addrs, last == vrrp.StateMaster)
		}
	}
	// Run sent the priority-0 advertisement; now drop the addresses.
	err = <-done
	rmErr := vm.RemoveAll(context.Background())
	st := vm.Stats()
	say("stop", "garps", st.GARPsSent, "nas", st.NAsSent)
	if err != nil {
		return err
	}
	return rmErr
}

// apply adds and announces the addresses on MASTER and removes them otherwise.
func apply(ctx context.Context, say func(event string, kv ...any), vm *vip.Manager, iface string, prefixes []netip.Prefix, addrs []netip.Addr, master bool) {
	if !master {
		vm.StopAnnounce(iface)
		if err := vm.RemoveAll(ctx); err != nil {
			say("error", "err", err)
		}
		return
	}
	for _, p := range prefixes {
		if err := vm.Add(ctx, vip.Address{Prefix: p, Interface: iface}); err != nil {
			say("error", "err", err)
		}
	}
	say("vip-added", "vip", prefixes)
	if err := vm.Announce(ctx, iface, addrs); err != nil {
		say("error", "err", err)
		return
	}
	st := vm.Stats()
	say("announced", "garps", st.GARPsSent, "nas", st.NAsSent)
}
