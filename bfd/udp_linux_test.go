//go:build linux

package bfd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

var (
	pairA4 = netip.MustParseAddr(testutil.PairA4)
	pairB4 = netip.MustParseAddr(testutil.PairB4)
	pairA6 = netip.MustParseAddr(testutil.PairA6)
	pairB6 = netip.MustParseAddr(testutil.PairB6)
)

// udpMux runs a Mux over a UDP transport opened inside ns until the test
// ends.
type udpMux struct {
	*bfd.Mux
	tr  *bfd.UDPTransport
	rec *recorder
}

func startUDPMux(t testing.TB, ns *testutil.NetNS, cfg bfd.UDPConfig) *udpMux {
	t.Helper()
	var tr *bfd.UDPTransport
	if err := ns.Do(func() error {
		var err error
		tr, err = bfd.ListenUDP(cfg)
		return err
	}); err != nil {
		t.Fatalf("ListenUDP in %s: %v", ns.Name, err)
	}
	rec := &recorder{}
	m, err := bfd.NewMux(bfd.MuxConfig{OnTransition: rec.add}, tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return &udpMux{Mux: m, tr: tr, rec: rec}
}

// waitState polls the session until it reaches want (bounded).
func waitState(t *testing.T, m *bfd.Mux, discr uint32, want bfd.State, timeout time.Duration) bfd.SessionStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var st bfd.SessionStatus
	var err error
	for time.Now().Before(deadline) {
		st, err = m.Session(context.Background(), discr)
		if err == nil && st.State == want {
			return st
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("session %d not %v within %v: %+v (err %v)", discr, want, timeout, st, err)
	return st
}

// TestIntegrationUDP runs two of our muxes across a veth pair: single-hop
// IPv4 and IPv6 and multi-hop IPv4 sessions come Up, packets carry TTL 255
// from a port in 49152–65535, and a packet with a lower TTL is dropped.
func TestIntegrationUDP(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := testutil.NewPair(t)
	ma := startUDPMux(t, a, bfd.UDPConfig{})
	mb := startUDPMux(t, b, bfd.UDPConfig{Interface: "eth0"})
	if p := ma.tr.SourcePort(); p < bfd.SourcePortMin {
		t.Errorf("source port %d below 49152", p)
	}
	capture := testutil.StartCapture(t, a, "eth0", "udp port 3784 or udp port 4784")
	fast := bfd.Config{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond}
	type pair struct{ da, db uint32 }
	var pairs []pair
	llA, idxA := linkLocal(t, a)
	llB, idxB := linkLocal(t, b)
	for _, c := range []struct {
		local, peer netip.Addr
		multiHop    bool
		ifIndexA    int
		ifIndexB    int
	}{
		{pairA4, pairB4, false, 0, 0},
		{pairA6, pairB6, false, 0, 0},
		{pairA4, pairB4, true, 0, 0},
		{llA, llB, false, idxA, idxB}, // link-local: the interface is given by index
	} {
		da, err := ma.Add(t.Context(), bfd.SessionConfig{Peer: c.peer, Local: c.local, MultiHop: c.multiHop, IfIndex: c.ifIndexA, Config: fast})
		if err != nil {
			t.Fatal(err)
		}
		db, err := mb.Add(t.Context(), bfd.SessionConfig{Peer: c.local, Local: c.peer, MultiHop: c.multiHop, IfIndex: c.ifIndexB, Config: fast})
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, pair{da, db})
	}
	for _, p := range pairs {
		st := waitState(t, ma.Mux, p.da, bfd.StateUp, 10*time.Second)
		waitState(t, mb.Mux, p.db, bfd.StateUp, 10*time.Second)
		if st.RemoteDiscriminator != p.db {
			t.Errorf("remote discriminator %d, want %d", st.RemoteDiscriminator, p.db)
		}
	}

	// A packet with TTL 64 to the single-hop port is dropped (RFC 5881 §5).
	st, _ := ma.Session(t.Context(), pairs[0].da)
	p := bfd.ControlPacket{State: bfd.StateUp, DetectMult: 3, MyDiscriminator: st.RemoteDiscriminator,
		YourDiscriminator: pairs[0].da, DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second}
	raw, _ := p.MarshalBinary()
	if err := sendSingleHop(b, 64, raw); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		st, _ = ma.Session(t.Context(), pairs[0].da)
		if st.Stats.Dropped[bfd.DropTTL] > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st.Stats.Dropped[bfd.DropTTL] != 1 {
		t.Errorf("TTL drops %d, want 1", st.Stats.Dropped[bfd.DropTTL])
	}

	pcap := capture.Stop()
	if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
		t.Errorf("tshark expert warnings:\n%s", strings.Join(w, "\n"))
	}
	rows := testutil.TsharkFields(t, pcap, "ip.src", "ipv6.src", "ip.ttl", "ipv6.hlim", "udp.srcport", "udp.dstport")
	ours := 0
	for _, r := range rows {
		if len(r) < 6 || (r[0] != testutil.PairA4 && r[1] != testutil.PairA6) {
			continue
		}
		ours++
		if r[2] != "255" && r[3] != "255" {
			t.Errorf("our packet with ttl %q hlim %q", r[2], r[3])
		}
		if sp, _ := strconv.Atoi(r[4]); sp < bfd.SourcePortMin {
			t.Errorf("our packet from port %d", sp)
		}
	}
	if ours == 0 {
		t.Error("no packets of ours captured")
	}
}

func TestIntegrationUDPDisabled(t *testing.T) {
	if _, err := bfd.ListenUDP(bfd.UDPConfig{DisableIPv4: true, DisableIPv6: true}); err == nil {
		t.Error("ListenUDP with no family succeeded")
	}
}

// linkLocal returns the IPv6 link-local address and index of eth0 in ns.
func linkLocal(t *testing.T, ns *testutil.NetNS) (netip.Addr, int) {
	t.Helper()
	out := ns.Run(t, "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet6" && i+1 < len(f) {
			p, err := netip.ParsePrefix(f[i+1])
			if err != nil {
				t.Fatal(err)
			}
			var idx int
			if err := ns.Do(func() error {
				ifi, err := net.InterfaceByName("eth0")
				if err == nil {
					idx = ifi.Index
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return p.Addr(), idx
		}
	}
	t.Fatalf("no link-local address on eth0 in %s: %q", ns.Name, out)
	return netip.Addr{}, 0
}

// sendSingleHop sends payload from pair address B in ns to our single-hop
// port on pair address A with the given TTL.
func sendSingleHop(ns *testutil.NetNS, ttl int, payload []byte) error {
	return ns.Do(func() error {
		c, err := net.ListenPacket("udp4", net.JoinHostPort(testutil.PairB4, "0"))
		if err != nil {
			return err
		}
		defer c.Close()
		rc, err := c.(*net.UDPConn).SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, ttl) }); err != nil {
			return err
		}
		if serr != nil {
			return fmt.Errorf("set TTL %d: %w", ttl, serr)
		}
		_, err = c.WriteTo(payload, &net.UDPAddr{IP: net.ParseIP(testutil.PairA4), Port: bfd.PortSingleHop})
		return err
	})
}

// TestIntegrationUDPReadFrom reads through Transport.ReadFrom (no Mux) and
// checks what the transport reports about a datagram.
func TestIntegrationUDPReadFrom(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := testutil.NewPair(t)
	var tr *bfd.UDPTransport
	if err := a.Do(func() error {
		var err error
		tr, err = bfd.ListenUDP(bfd.UDPConfig{DisableIPv6: true, DisableMultiHop: true, SourcePort: 50000})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.SourcePort() != 50000 {
		t.Errorf("source port %d", tr.SourcePort())
	}
	_, idxA := linkLocal(t, a)
	if err := sendSingleHop(b, 200, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	type result struct {
		b   []byte
		m   bfd.Meta
		err error
	}
	got := make(chan result, 1)
	go func() { // tr.Close (deferred) ends it if nothing arrives
		buf := make([]byte, 64)
		n, m, err := tr.ReadFrom(buf)
		got <- result{buf[:n], m, err}
	}()
	var r result
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no datagram read within 10 s")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	want := bfd.Meta{Peer: pairB4, Local: pairA4, IfIndex: idxA, TTL: 200}
	if string(r.b) != "hello" || r.m != want {
		t.Errorf("ReadFrom = %q %+v, want hello %+v", r.b, r.m, want)
	}
	if err := tr.WriteTo([]byte("x"), bfd.Meta{Peer: pairB6}); err == nil {
		t.Error("WriteTo an IPv6 peer without an IPv6 socket succeeded")
	}
	_ = tr.Close()
	if _, _, err := tr.ReadFrom(make([]byte, 64)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadFrom after Close = %v", err)
	}
}
