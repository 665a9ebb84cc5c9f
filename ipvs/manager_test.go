package ipvs_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/internal/conformance"
	"github.com/nux-root/keepalived-go/ipvs/ipvstest"
)

var (
	keyA = ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	keyB = ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::10]:53"))
	keyC = ipvs.FWMarkService(ipvs.IPv4, 42)
	keyD = ipvs.SCTPService(netip.MustParseAddrPort("192.0.2.11:3868"))
	rsV4 = []netip.AddrPort{
		netip.MustParseAddrPort("198.51.100.1:80"), netip.MustParseAddrPort("198.51.100.2:80"),
		netip.MustParseAddrPort("198.51.100.3:80"), netip.MustParseAddrPort("198.51.100.4:0"),
	}
	rsV6 = []netip.AddrPort{
		netip.MustParseAddrPort("[2001:db8::1]:53"), netip.MustParseAddrPort("[2001:db8::2]:53"),
		netip.MustParseAddrPort("[2001:db8::3]:53"), netip.MustParseAddrPort("198.51.100.9:53"),
	}
)

// byteSource turns fuzz input into choices; it yields zeros when exhausted.
type byteSource []byte

func (b *byteSource) next(n int) int {
	if len(*b) == 0 {
		return 0
	}
	v := int((*b)[0])
	*b = (*b)[1:]
	return v % n
}

// genState builds a valid state from fuzz input over a small key space, so
// that current and desired overlap often.
func genState(b *byteSource) ipvs.State {
	var st ipvs.State
	for _, k := range []ipvs.ServiceKey{keyA, keyB, keyC, keyD} {
		if b.next(3) == 0 {
			continue
		}
		scheds := ipvs.Schedulers()
		s := ipvs.Service{Key: k, Scheduler: scheds[b.next(len(scheds))]}
		if s.Scheduler == ipvs.SH || s.Scheduler == ipvs.MH {
			s.Flags = ipvs.SchedFlags(b.next(4)) << 3
		}
		if b.next(3) == 0 {
			s.Persistence.Timeout = time.Duration(1+b.next(600)) * time.Second
		}
		addrs := rsV4
		if k.Family == ipvs.IPv6 {
			addrs = rsV6
		}
		for i, a := range addrs {
			if b.next(2) == 0 {
				continue
			}
			d := ipvs.Destination{Addr: a, Weight: b.next(4)}
			switch b.next(3) {
			case 1:
				d.Forward = ipvs.Route
			case 2:
				d.Forward = ipvs.Tunnel
				d.TunnelType = ipvs.TunnelType(b.next(3))
				if d.TunnelType == ipvs.GUE {
					d.TunnelPort = 6080
				}
			}
			if (i == 3 && k.Family == ipvs.IPv6) || (a.Port() == 0 && !k.IsFWMark()) {
				d.Forward = ipvs.Tunnel // mixed family or portless: tunnel only
			}
			if b.next(4) == 0 {
				d.UpperThreshold = uint32(10 + b.next(10))
				d.LowerThreshold = uint32(b.next(10))
			}
			s.Destinations = append(s.Destinations, d)
		}
		st.Services = append(st.Services, s)
	}
	if b.next(2) == 0 {
		st.Timeouts = &ipvs.Timeouts{TCP: time.Duration(b.next(3)) * 60 * time.Second}
	}
	return st
}

// load puts st into k directly (as another tool would).
func load(t testing.TB, k ipvs.Kernel, st ipvs.State) {
	t.Helper()
	for _, op := range ipvs.Plan(ipvs.State{}, st, ipvs.Owned{}, ipvs.PlanOptions{}) {
		if err := k.Exec(context.Background(), op); err != nil {
			t.Fatalf("load %v: %v", op, err)
		}
	}
}

// FuzzPlan checks Plan against the in-memory kernel: applying the plan
// never fails, reaches desired (a second plan is empty), removes exactly the
// owned services that are not desired, and never touches foreign ones.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add([]byte{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, true)
	f.Add([]byte("\x02\x07\x01\x00\x01\x01\x02\x01\x02\x03\x01\x01\x02\x00\x01\x02\x01\x01\x01\x01\x00\x05\x09"), false)
	f.Fuzz(func(t *testing.T, data []byte, drain bool) {
		b := byteSource(data)
		foreign := genState(&b)
		desired := genState(&b)
		k := ipvstest.NewKernel()
		load(t, k, foreign)
		ctx := context.Background()
		removal := ipvs.Delete
		if drain {
			removal = ipvs.Drain
		}
		m, err := ipvs.New(ipvs.Config{Removal: removal}, k)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(ctx, desired); err != nil {
			t.Fatalf("Apply(desired): %v", err)
		}
		after, _ := k.State(ctx)
		if ops := ipvs.Plan(after, desired, ipvs.Owned{}, ipvs.PlanOptions{}); len(ops) != 0 {
			t.Fatalf("not converged, still %v", ops)
		}
		// A no-op reconcile issues nothing.
		if ch, err := m.Apply(ctx, desired); err != nil || len(ch.Ops) != 0 {
			t.Fatalf("second Apply = %v, %v; want no ops", ch.Ops, err)
		}
		// Then desire something else: what we added goes (eventually, when
		// draining), the foreign services stay.
		next := genState(&b)
		for range 3 {
			if _, err := m.Apply(ctx, next); err != nil {
				t.Fatalf("Apply(next): %v", err)
			}
		}
		final, _ := k.State(ctx)
		if ops := ipvs.Plan(final, next, ipvs.Owned{}, ipvs.PlanOptions{}); len(ops) != 0 {
			t.Fatalf("not converged on next, still %v", ops)
		}
		for _, s := range final.Services {
			_, inForeign := foreign.Service(s.Key)
			_, inNext := next.Service(s.Key)
			if !inForeign && !inNext {
				t.Errorf("service %v was ours and is not desired, but still there", s.Key)
			}
		}
		for _, s := range foreign.Services {
			if _, ok := final.Service(s.Key); !ok {
				t.Errorf("foreign service %v removed", s.Key)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		// Close removed only what we added: every foreign service and real
		// server is still there.
		left, _ := k.State(ctx)
		for _, s := range foreign.Services {
			got, ok := left.Service(s.Key)
			if !ok {
				t.Fatalf("foreign service %v removed by Close", s.Key)
			}
			for _, d := range s.Destinations {
				if _, ok := got.Destination(d.Addr); !ok {
					t.Errorf("foreign real server %v of %v removed by Close", d.Addr, s.Key)
				}
			}
		}
		if len(left.Services) != len(foreign.Services) {
			t.Errorf("after Close %d services, want the %d foreign ones", len(left.Services), len(foreign.Services))
		}
	})
}

func TestManagerOwnership(t *testing.T) {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	// Someone else made keyA with one real server.
	load(t, k, ipvs.State{Services: []ipvs.Service{{Key: keyA, Scheduler: ipvs.RR,
		Destinations: []ipvs.Destination{{Addr: rsV4[0], Weight: 1}}}}})
	m, err := ipvs.New(ipvs.Config{}, k)
	if err != nil {
		t.Fatal(err)
	}
	desired := ipvs.State{Services: []ipvs.Service{
		{Key: keyA, Scheduler: ipvs.WRR, Destinations: []ipvs.Destination{{Addr: rsV4[0], Weight: 5}, {Addr: rsV4[1], Weight: 1}}},
		{Key: keyC, Scheduler: ipvs.RR, Destinations: []ipvs.Destination{{Addr: rsV4[3], Weight: 1, Forward: ipvs.Route}}},
	}}
	ch, err := m.Apply(ctx, desired)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[ipvs.OpKind]int{}
	for _, op := range ch.Ops {
		counts[op.Kind]++
	}
	want := map[ipvs.OpKind]int{ipvs.UpdateService: 1, ipvs.UpdateDestination: 1, ipvs.AddDestination: 2, ipvs.AddService: 1}
	if diff := cmp.Diff(want, counts); diff != "" {
		t.Errorf("ops by kind (-want +got):\n%s", diff)
	}
	if got := ch.Count(ipvs.AddDestination); got != 2 {
		t.Errorf("Count(AddDestination) = %d, want 2", got)
	}
	// One weight change: exactly one update.
	desired.Services[0].Destinations[1].Weight = 7
	ch, err = m.Apply(ctx, desired)
	if err != nil || len(ch.Ops) != 1 || ch.Ops[0].Kind != ipvs.UpdateDestination {
		t.Fatalf("weight change: %v, %v; want one update", ch.Ops, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := m.Apply(ctx, desired); !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
	st, _ := k.State(ctx)
	want2 := []string{"TCP 192.0.2.10:80 wrr [198.51.100.1:80 Masq w5]"}
	var got []string
	for _, s := range st.Services {
		got = append(got, s.Key.String()+" "+string(s.Scheduler)+" "+fmtDests(s.Destinations))
	}
	if diff := cmp.Diff(want2, got); diff != "" {
		t.Errorf("after Close (-want +got):\n%s", diff)
	}
}

func fmtDests(ds []ipvs.Destination) string {
	s := "["
	for i, d := range ds {
		if i > 0 {
			s += " "
		}
		s += d.String()
	}
	return s + "]"
}

func TestManagerErrors(t *testing.T) {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	m, _ := ipvs.New(ipvs.Config{}, k)
	if _, err := m.Apply(ctx, ipvs.State{Services: []ipvs.Service{{Key: keyA, Scheduler: "nope"}}}); err == nil {
		t.Error("invalid desired state accepted")
	}
	boom := errors.New("boom")
	k.Hook = func(_ context.Context, op ipvs.Op) error {
		if op.Kind == ipvs.AddDestination {
			return boom
		}
		return nil
	}
	ch, err := m.Apply(ctx, ipvs.State{Services: []ipvs.Service{{Key: keyA, Destinations: []ipvs.Destination{{Addr: rsV4[0]}}}}})
	var oe *ipvs.OpError
	if !errors.Is(err, boom) || !errors.As(err, &oe) || oe.Op.Kind != ipvs.AddDestination {
		t.Errorf("Apply error = %v, want an *OpError for add-destination wrapping boom", err)
	}
	if len(ch.Ops) != 1 || ch.Ops[0].Kind != ipvs.AddService {
		t.Errorf("Changes = %v, want the service add that succeeded", ch.Ops)
	}
	if !m.Owned().Services[keyA] {
		t.Error("service added before the failure is not owned")
	}
	if _, err := ipvs.New(ipvs.Config{}, nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := ipvs.New(ipvs.Config{Removal: 9}, k); err == nil {
		t.Error("New with bad removal succeeded")
	}
}

// A stuck kernel call never hangs the caller: the call timeout ends it.
func TestManagerStuckKernel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := ipvstest.NewKernel()
		k.Hook = func(ctx context.Context, _ ipvs.Op) error {
			<-ctx.Done() // the kernel never answers
			return ctx.Err()
		}
		m, _ := ipvs.New(ipvs.Config{CallTimeout: 2 * time.Second}, k)
		start := time.Now()
		_, err := m.Apply(context.Background(), ipvs.State{Services: []ipvs.Service{{Key: keyA}}})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Apply = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("Apply returned after %v, want the 2s call timeout", d)
		}
	})
}

func TestMemKernelRejects(t *testing.T) {
	ctx := context.Background()
	for _, c := range conformance.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			c.Run(t, ctx, ipvstest.NewKernel())
		})
	}
}

func TestSyncDaemonAndZero(t *testing.T) {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	m, _ := ipvs.New(ipvs.Config{}, k)
	d := ipvs.SyncDaemon{Role: ipvs.Master, Interface: "eth0", SyncID: 7}
	if err := m.StartSyncDaemon(ctx, d); err != nil {
		t.Fatal(err)
	}
	if err := m.StartSyncDaemon(ctx, d); !errors.Is(err, ipvs.ErrExist) {
		t.Errorf("second start = %v, want ErrExist", err)
	}
	if err := m.StartSyncDaemon(ctx, ipvs.SyncDaemon{Role: 3}); err == nil {
		t.Error("invalid daemon accepted")
	}
	got, err := m.SyncDaemons(ctx)
	if err != nil || !cmp.Equal(got, []ipvs.SyncDaemon{d}, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("SyncDaemons = %v, %v", got, err)
	}
	if err := m.StopSyncDaemon(ctx, ipvs.Master); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, ipvs.State{Services: []ipvs.Service{{Key: keyA, Destinations: []ipvs.Destination{{Addr: rsV4[0], Weight: 1}}}}}); err != nil {
		t.Fatal(err)
	}
	k.SetCounters(keyA, rsV4[0], ipvs.Counters{ActiveConns: 2, Stats: ipvs.Stats{Conns: 9}})
	st, _ := m.State(ctx)
	if s, _ := st.Service(keyA); s.Destinations[0].Counters.Stats.Conns != 9 {
		t.Errorf("stats not read: %+v", s.Destinations[0].Counters)
	}
	if err := m.Zero(ctx, ipvs.ServiceKey{}); err != nil {
		t.Fatal(err)
	}
	st, _ = m.State(ctx)
	if s, _ := st.Service(keyA); s.Destinations[0].Counters != (ipvs.Counters{ActiveConns: 2}) {
		t.Errorf("after Zero: %+v", s.Destinations[0].Counters)
	}
}

// The health policy drives the manager: a failed inhibit_on_failure server
// becomes one weight update (never a delete), quorum loss swaps in the
// sorry server, recovery swaps it out.
func TestPolicyDrivesManager(t *testing.T) {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	m, _ := ipvs.New(ipvs.Config{}, k)
	sorry := netip.MustParseAddrPort("203.0.113.1:80")
	p, err := ipvs.NewPolicy(ipvs.VirtualServer{
		Service: ipvs.Service{Key: keyA, Scheduler: ipvs.WRR},
		RealServers: []ipvs.RealServer{
			{Destination: ipvs.Destination{Addr: rsV4[0], Weight: 3}, InhibitOnFailure: true},
			{Destination: ipvs.Destination{Addr: rsV4[1], Weight: 1}},
		},
		Quorum:      2,
		SorryServer: &ipvs.Destination{Addr: sorry, Weight: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	step := func(want ...string) {
		t.Helper()
		ch, err := m.Apply(ctx, ipvs.State{Services: []ipvs.Service{p.Service()}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, opStrs(ch.Ops)); diff != "" {
			t.Errorf("ops (-want +got):\n%s", diff)
		}
	}
	step("-A -t 192.0.2.10:80 -s wrr", "-a -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 3", "-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1")
	p.Set(rsV4[1], "tcp", false) // 3 left: quorum holds
	step("-d -t 192.0.2.10:80 -r 198.51.100.2:80")
	p.Set(rsV4[0], "tcp", false) // 0 left: sorry server
	step("-e -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 0", "-a -t 192.0.2.10:80 -r 203.0.113.1:80 -m -w 1")
	p.Set(rsV4[1], "tcp", true) // 1 < 2: still sorry
	step([]string{}...)
	p.Set(rsV4[0], "tcp", true)
	step("-e -t 192.0.2.10:80 -r 198.51.100.1:80 -m -w 3", "-a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 1", "-d -t 192.0.2.10:80 -r 203.0.113.1:80")
}

func TestManagerAdoptAndRestore(t *testing.T) {
	ctx := context.Background()
	k := ipvstest.NewKernel()
	first, _ := ipvs.New(ipvs.Config{}, k)
	state := ipvs.State{Services: []ipvs.Service{
		{Key: keyA, Destinations: []ipvs.Destination{{Addr: rsV4[0], Weight: 1}, {Addr: rsV4[1], Weight: 1}}},
		{Key: keyD, Destinations: []ipvs.Destination{{Addr: rsV4[2], Weight: 1}}},
	}}
	if _, err := first.Apply(ctx, state); err != nil {
		t.Fatal(err)
	}
	saved := first.Owned()
	// A restart: the first manager is gone without cleaning up.

	// Restored ownership: a service dropped from the config is removed.
	restored, _ := ipvs.New(ipvs.Config{Owned: saved}, k)
	ch, err := restored.Apply(ctx, ipvs.State{Services: state.Services[:1]})
	if err != nil || !cmp.Equal(opStrs(ch.Ops), []string{"-D --sctp-service 192.0.2.11:3868"}) {
		t.Errorf("restored: %v, %v", opStrs(ch.Ops), err)
	}
	// Adopt: what the config names and the kernel has becomes owned, so
	// a dropped real server is removed and Close removes the service.
	adopter, _ := ipvs.New(ipvs.Config{Adopt: true}, k)
	next := state.Clone()
	next.Services = next.Services[:1]
	next.Services[0].Destinations = next.Services[0].Destinations[:1]
	ch, err = adopter.Apply(ctx, next)
	if err != nil || !cmp.Equal(opStrs(ch.Ops), []string{"-d -t 192.0.2.10:80 -r 198.51.100.2:80"}) {
		t.Errorf("adopt: %v, %v", opStrs(ch.Ops), err)
	}
	if err := adopter.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := k.State(ctx); len(st.Services) != 0 {
		t.Errorf("after the adopter's Close: %+v", st.Services)
	}
}
