package vrrp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vrrp"
)

func listen(t *testing.T, ns *testutil.NetNS, v6 bool) *vrrp.Conn {
	t.Helper()
	c, err := vrrp.Listen(vrrp.ConnConfig{Interface: "eth0", IPv6: v6, NetNS: ns.Path()})
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func transport(t *testing.T, c *vrrp.Conn, vrid uint8) vrrp.Transport {
	t.Helper()
	tr, err := c.Transport(vrid)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

type readResult struct {
	b   []byte
	m   vrrp.Meta
	err error
}

// readTimeout reads one packet, giving up (and closing tr) after d.
func readTimeout(t *testing.T, tr vrrp.Transport, d time.Duration) readResult {
	t.Helper()
	ch := make(chan readResult, 1)
	go func() {
		b := make([]byte, 1500)
		n, m, err := tr.ReadFrom(b)
		ch <- readResult{b[:n], m, err}
	}()
	select {
	case r := <-ch:
		return r
	case <-time.After(d):
		tr.Close()
		<-ch
		t.Fatalf("no packet within %v", d)
		return readResult{}
	}
}

// waitUntil polls cond until it holds, for at most 5 s (a counter that a
// packet on a veth moves); the caller then checks the exact values.
func waitUntil(cond func() bool) {
	for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIntegrationTransport(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name    string
		v6      bool
		payload string // VRID 51 advert (LAB.md golden bytes; checksum irrelevant here)
		dst     func(b *vrrp.Conn) netip.Addr
	}{
		{"v4 multicast", false, "313396010064d371c0000264", func(*vrrp.Conn) netip.Addr { return vrrp.MulticastGroup4 }},
		{"v4 unicast", false, "313396010064f181c0000264", func(*vrrp.Conn) netip.Addr { return netip.MustParseAddr(testutil.PairB4) }},
		{"v6 multicast", true, "3133960100644eaa20010db8000000000000000000000100", func(*vrrp.Conn) netip.Addr { return vrrp.MulticastGroup6 }},
		{"v6 unicast", true, "3133960100644eaa20010db8000000000000000000000100", func(b *vrrp.Conn) netip.Addr { return b.Source() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := testutil.NewPair(t)
			ca, cb := listen(t, a, tt.v6), listen(t, b, tt.v6)
			ta := transport(t, ca, 51)
			tb := transport(t, cb, 51)
			other := transport(t, cb, 52)
			if tt.v6 && !ca.Source().IsLinkLocalUnicast() {
				t.Errorf("IPv6 source %v is not link-local", ca.Source())
			}
			dst := tt.dst(cb)
			// sum fills in the VRRPv3 checksum for our real addresses.
			sum := func(p []byte) []byte {
				binary.BigEndian.PutUint16(p[6:], vrrp.Checksum(p, ca.Source(), dst))
				return p
			}
			p := sum(mustHex(t, tt.payload))
			capt := testutil.StartCapture(t, b, "eth0", "ip proto 112 or ip6 proto 112")
			if err := ta.WriteTo(p, dst); err != nil {
				t.Fatal(err)
			}
			r := readTimeout(t, tb, 5*time.Second)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if !bytes.Equal(r.b, p) {
				t.Errorf("payload = %x, want %x", r.b, p)
			}
			wantMeta := vrrp.Meta{Src: ca.Source(), Dst: dst, TTL: 255, IfIndex: cb.Interface().Index}
			if diff := cmp.Diff(wantMeta, r.m, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
				t.Errorf("Meta (-want +got):\n%s", diff)
			}
			// A VRID-52 packet goes to the other transport only.
			p52 := bytes.Clone(p)
			p52[1] = 52
			sum(p52)
			if err := ta.WriteTo(p52, dst); err != nil {
				t.Fatal(err)
			}
			if r := readTimeout(t, other, 5*time.Second); r.err != nil || r.b[1] != 52 {
				t.Errorf("vrid 52: %x %v", r.b, r.err)
			}
			// Unknown VRIDs are counted, not delivered.
			p53 := bytes.Clone(p)
			p53[1] = 53
			sum(p53)
			if err := ta.WriteTo(p53, dst); err != nil {
				t.Fatal(err)
			}
			waitUntil(func() bool { return cb.Stats().UnknownVRID != 0 })
			if got := cb.Stats(); got.UnknownVRID != 1 || got.Received != 2 {
				t.Errorf("Stats = %+v", got)
			}
			pcap := capt.Stop()
			if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
				t.Errorf("tshark expert warnings: %q", w)
			}
			fields := []string{"ip.ttl", "ip.dsfield", "ip.flags.df", "vrrp.checksum.status"}
			want := []string{"255", "0xc0", "0", "1"}
			if tt.v6 {
				fields = []string{"ipv6.hlim", "ipv6.tclass", "ipv6.src", "vrrp.checksum.status"}
				want = []string{"255", "0x000000c0", ca.Source().String(), "1"}
			}
			rows := testutil.TsharkFields(t, pcap, fields...)
			if len(rows) != 3 {
				t.Errorf("captured %d packets, want 3", len(rows))
			}
			for _, r := range rows {
				if diff := cmp.Diff(want, r); diff != "" {
					t.Errorf("%v (-want +got):\n%s", fields, diff)
				}
			}
			// Close unblocks ReadFrom.
			done := make(chan error, 1)
			go func() {
				_, _, err := tb.ReadFrom(make([]byte, 1500))
				done <- err
			}()
			cb.Close()
			select {
			case err := <-done:
				if err == nil {
					t.Error("ReadFrom after Close returned nil error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not unblock ReadFrom")
			}
		})
	}
}

// TestIntegrationTransportAH: AH-wrapped advertisements pass between two
// Conns with the same key and are dropped (counted) with another key.
func TestIntegrationTransportAH(t *testing.T) {
	testutil.RequireRoot(t)
	a, b := testutil.NewPair(t)
	ca, cb := listen(t, a, false), listen(t, b, false)
	ta, err := ca.TransportAH(51, []byte("secret1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ta.Close() })
	tb, err := cb.TransportAH(51, []byte("secret1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tb.Close() })
	t52, err := cb.TransportAH(52, []byte("other"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { t52.Close() })
	capt := testutil.StartCapture(t, b, "eth0", "ip proto 51")
	p := mustHex(t, "2133960102018465c00002640000000000000000") // v2, auth type 2
	if err := ta.WriteTo(p, vrrp.MulticastGroup4); err != nil {
		t.Fatal(err)
	}
	r := readTimeout(t, tb, 5*time.Second)
	if r.err != nil || !bytes.Equal(r.b, p) || r.m.TTL != 255 || r.m.Src != ca.Source() || r.m.Dst != vrrp.MulticastGroup4 {
		t.Errorf("got %x %+v %v", r.b, r.m, r.err)
	}
	// VRID 52 on b expects another key: dropped.
	p52 := bytes.Clone(p)
	p52[1] = 52
	binary.BigEndian.PutUint16(p52[6:], 0)
	binary.BigEndian.PutUint16(p52[6:], vrrp.Checksum(p52, netip.Addr{}, netip.Addr{}))
	ta52, err := ca.TransportAH(52, []byte("secret1"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ta52.WriteTo(p52, vrrp.MulticastGroup4); err != nil {
		t.Fatal(err)
	}
	waitUntil(func() bool { return cb.Stats().AuthFailures != 0 })
	if st := cb.Stats(); st.AuthFailures != 1 || st.Received != 1 {
		t.Errorf("Stats = %+v", st)
	}
	// The same message for VRID 51 without AH (IP protocol 112) is dropped
	// too: it would bypass the ICV check.
	if err := transport(t, ca, 60).WriteTo(p, vrrp.MulticastGroup4); err != nil {
		t.Fatal(err)
	}
	waitUntil(func() bool { return cb.Stats().AuthFailures > 1 })
	if st := cb.Stats(); st.AuthFailures != 2 || st.Received != 1 {
		t.Errorf("after a bare VRRP message: Stats = %+v", st)
	}
	pcap := capt.Stop()
	if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
		t.Errorf("tshark expert warnings: %q", w)
	}
	rows := testutil.TsharkFields(t, pcap, "ah.spi", "ah.sequence", "ip.ttl", "ip.dsfield", "vrrp.checksum.status")
	if len(rows) != 2 || rows[0][0] != "0xc0000201" || rows[0][2] != "255" || rows[0][3] != "0xc0" || rows[0][4] != "1" {
		t.Errorf("tshark: %q", rows)
	}
}

// A Conn's Transport is bound to its VRID and the Conn's source: New
// rejects a Config that would send another VRID or from another address.
func TestIntegrationTransportBound(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	c := listen(t, a, false)
	tr := transport(t, c, 51)
	if b, ok := tr.(vrrp.BoundTransport); !ok || b.VRID() != 51 || b.Source() != c.Source() {
		t.Fatalf("transport %T not bound to VRID 51 and %v", tr, c.Source())
	}
	if _, err := vrrp.New(vrrp.Config{VRID: 52, Source: c.Source()}, tr); !errors.Is(err, vrrp.ErrInvalidConfig) {
		t.Errorf("VRID 52 on a VRID 51 transport: err = %v, want ErrInvalidConfig", err)
	}
	if _, err := vrrp.New(vrrp.Config{VRID: 51, Source: netip.MustParseAddr("198.51.100.9")}, tr); !errors.Is(err, vrrp.ErrInvalidConfig) {
		t.Errorf("Source 198.51.100.9 on a %v transport: err = %v, want ErrInvalidConfig", c.Source(), err)
	}
	if _, err := vrrp.New(vrrp.Config{VRID: 51}, tr); err != nil {
		t.Errorf("VRID 51, Source from the transport: %v", err)
	}
}

// ConnConfig.MulticastGroups and Config.MulticastGroup (keepalived's
// mcast_dst_ip, vrrp_mcast_group4/6) move the adverts to another group;
// ConnConfig.UnicastTTL (unicast_ttl) sets the TTL / hop limit of unicast
// ones, while multicast ones keep 255. Checked on the receiving side, in
// the peer namespace.
func TestIntegrationTransportGroupAndTTL(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name  string
		v6    bool
		group netip.Addr // documentation multicast (RFC 6676)
		def   netip.Addr
	}{
		{"v4", false, netip.MustParseAddr("233.252.0.18"), vrrp.MulticastGroup4},
		{"v6", true, netip.MustParseAddr("ff02::db8:0:12"), vrrp.MulticastGroup6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, b := testutil.NewPair(t)
			ca, err := vrrp.Listen(vrrp.ConnConfig{Interface: "eth0", IPv6: tt.v6, NetNS: a.Path(), UnicastTTL: 64,
				MulticastGroups: []netip.Addr{tt.group}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ca.Close() })
			cb, err := vrrp.Listen(vrrp.ConnConfig{Interface: "eth0", IPv6: tt.v6, NetNS: b.Path(), MulticastGroups: []netip.Addr{tt.group}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cb.Close() })
			if diff := cmp.Diff([]netip.Addr{tt.group}, cb.MulticastGroups(), cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
				t.Errorf("MulticastGroups (-want +got):\n%s", diff)
			}
			// An owner becomes MASTER at once and advertises to its group;
			// the default group, which ca has not joined, is refused.
			vipAddr := netip.MustParseAddr("192.0.2.100")
			if tt.v6 {
				vipAddr = netip.MustParseAddr("2001:db8::100")
			}
			if _, err := vrrp.New(vrrp.Config{VRID: 51, Priority: 255, Addrs: []netip.Addr{vipAddr}}, transport(t, ca, 51)); !errors.Is(err, vrrp.ErrInvalidConfig) {
				t.Errorf("New with the default group, which the Conn has not joined: err = %v, want ErrInvalidConfig", err)
			}
			ta52 := transport(t, ca, 52)
			tb52 := transport(t, cb, 52)
			inst, err := vrrp.New(vrrp.Config{VRID: 52, Priority: 255, Addrs: []netip.Addr{vipAddr}, MulticastGroup: tt.group}, ta52)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- inst.Run(ctx) }()
			r := readTimeout(t, tb52, 5*time.Second)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.m.Dst != tt.group || r.m.TTL != 255 || r.m.Src != ca.Source() {
				t.Errorf("multicast advert meta %+v, want dst %v TTL 255 src %v", r.m, tt.group, ca.Source())
			}
			if _, ok := vrrp.VerifyChecksum(r.b, ca.Source(), tt.group); !ok {
				t.Errorf("advert %x: checksum not over group %v", r.b, tt.group)
			}

			// Unicast leaves with UnicastTTL.
			ta53 := transport(t, ca, 53)
			tb53 := transport(t, cb, 53)
			p := mustHex(t, "3135960100640000c0000264")
			if err := ta53.WriteTo(p, cb.Source()); err != nil {
				t.Fatal(err)
			}
			r = readTimeout(t, tb53, 5*time.Second)
			if r.err != nil || r.m.TTL != 64 || r.m.Dst != cb.Source() {
				t.Errorf("unicast: meta %+v err %v, want TTL 64 dst %v", r.m, r.err, cb.Source())
			}

			// JoinGroup adds the default group later.
			if cb.Joined(tt.def) {
				t.Fatalf("Joined(%v) before JoinGroup", tt.def)
			}
			if err := cb.JoinGroup(tt.def); err != nil {
				t.Fatal(err)
			}
			if err := cb.JoinGroup(tt.def); err != nil || !cb.Joined(tt.def) {
				t.Fatalf("second JoinGroup: %v, Joined %v", err, cb.Joined(tt.def))
			}
			if err := cb.JoinGroup(netip.MustParseAddr("198.51.100.1")); err == nil {
				t.Error("JoinGroup of a unicast address accepted")
			}
			if err := ta53.WriteTo(p, tt.def); err != nil {
				t.Fatal(err)
			}
			r = readTimeout(t, tb53, 5*time.Second)
			if r.err != nil || r.m.Dst != tt.def || r.m.TTL != 255 {
				t.Errorf("default group after JoinGroup: meta %+v err %v, want dst %v TTL 255", r.m, r.err, tt.def)
			}
		})
	}
}

func TestIntegrationListenBadGroupOrTTL(t *testing.T) {
	testutil.RequireRoot(t)
	a, _ := testutil.NewPair(t)
	for _, cfg := range []vrrp.ConnConfig{
		{UnicastTTL: 256},
		{UnicastTTL: -1},
		{MulticastGroups: []netip.Addr{netip.MustParseAddr("198.51.100.1")}},
		{MulticastGroups: []netip.Addr{vrrp.MulticastGroup6}},
	} {
		cfg.Interface, cfg.NetNS = "eth0", a.Path()
		if c, err := vrrp.Listen(cfg); err == nil {
			c.Close()
			t.Errorf("Listen(%+v) accepted", cfg)
		}
	}
}
