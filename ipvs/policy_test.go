package ipvs

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var (
	pA = netip.MustParseAddrPort("198.51.100.1:80")
	pB = netip.MustParseAddrPort("198.51.100.2:80")
	pC = netip.MustParseAddrPort("198.51.100.3:80")
	pS = netip.MustParseAddrPort("203.0.113.1:80")
)

// step is one report to the policy: a check result or a dynamic weight.
type pstep struct {
	addr   netip.AddrPort
	check  string
	up     bool
	weight *int // SetWeight instead of Set
}

func up(a netip.AddrPort) pstep   { return pstep{addr: a, up: true} }
func down(a netip.AddrPort) pstep { return pstep{addr: a} }
func weigh(a netip.AddrPort, w int) pstep {
	return pstep{addr: a, weight: &w}
}

// summary renders the desired service's real servers as "addr:weight".
func summary(s Service) []string {
	out := []string{}
	for _, d := range s.Destinations {
		out = append(out, d.Addr.Addr().String()+"/"+itoa(d.Weight))
	}
	return out
}

func itoa(i int) string { return netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(i)).String()[8:] }

func TestPolicy(t *testing.T) {
	rs := func(a netip.AddrPort, w int, inhibit bool, checks ...string) RealServer {
		return RealServer{Destination: Destination{Addr: a, Weight: w}, InhibitOnFailure: inhibit, Checkers: checks}
	}
	three := []RealServer{rs(pA, 1, false), rs(pB, 2, false), rs(pC, 3, true)}
	sorry := &Destination{Addr: pS, Weight: 1}
	tests := []struct {
		name       string
		vs         VirtualServer
		steps      []pstep
		wantEvents []string
		wantDests  []string
		wantQuorum bool
	}{
		{
			name:       "initially all up",
			vs:         VirtualServer{RealServers: three},
			wantEvents: []string{},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
		{
			name:       "failure removes, inhibit keeps weight 0",
			vs:         VirtualServer{RealServers: three},
			steps:      []pstep{down(pA), down(pC)},
			wantEvents: []string{"real-server-down 198.51.100.1:80 5", "real-server-down 198.51.100.3:80 2"},
			wantDests:  []string{"198.51.100.2/2", "198.51.100.3/0"},
			wantQuorum: true,
		},
		{
			name:       "repeated reports cause no events",
			vs:         VirtualServer{RealServers: three},
			steps:      []pstep{up(pA), down(pA), down(pA), up(pA), up(pA)},
			wantEvents: []string{"real-server-down 198.51.100.1:80 5", "real-server-up 198.51.100.1:80 6"},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
		{
			name:       "alpha starts down",
			vs:         VirtualServer{RealServers: three, Alpha: true},
			steps:      []pstep{up(pB)},
			wantEvents: []string{"real-server-up 198.51.100.2:80 2", "quorum-up  2"},
			wantDests:  []string{"198.51.100.2/2", "198.51.100.3/0"},
			wantQuorum: true,
		},
		{
			name: "all checkers must pass",
			vs:   VirtualServer{RealServers: []RealServer{rs(pA, 1, false, "http", "tcp")}, Alpha: true},
			steps: []pstep{{addr: pA, check: "http", up: true}, {addr: pA, check: "tcp", up: true},
				{addr: pA, check: "http", up: false}},
			wantEvents: []string{"real-server-up 198.51.100.1:80 1", "quorum-up  1", "real-server-down 198.51.100.1:80 0", "quorum-down  0"},
			wantDests:  []string{},
		},
		{
			name:       "quorum lost brings the sorry server",
			vs:         VirtualServer{RealServers: three, Quorum: 4, SorryServer: sorry},
			steps:      []pstep{down(pC), down(pA)},
			wantEvents: []string{"real-server-down 198.51.100.3:80 3", "quorum-down  3", "real-server-down 198.51.100.1:80 2"},
			wantDests:  []string{"198.51.100.3/0", "203.0.113.1/1"},
		},
		{
			name:       "quorum back removes the sorry server",
			vs:         VirtualServer{RealServers: three, Quorum: 4, SorryServer: sorry},
			steps:      []pstep{down(pC), up(pC)},
			wantEvents: []string{"real-server-down 198.51.100.3:80 3", "quorum-down  3", "real-server-up 198.51.100.3:80 6", "quorum-up  6"},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
		{
			name:       "sorry server inhibit keeps it at weight 0",
			vs:         VirtualServer{RealServers: three, SorryServer: sorry, SorryServerInhibit: true},
			wantEvents: []string{},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3", "203.0.113.1/0"},
			wantQuorum: true,
		},
		{
			name: "hysteresis",
			vs:   VirtualServer{RealServers: three, Quorum: 4, Hysteresis: 1},
			// 6 → 3 (>= 4-1: still up) → 2 (< 3: down) → 3 (< 4+1: still down) → 6 (up)
			steps:      []pstep{down(pC), weigh(pB, 1), weigh(pB, 2), up(pC)},
			wantEvents: []string{"real-server-down 198.51.100.3:80 3", "quorum-down  2", "real-server-up 198.51.100.3:80 6", "quorum-up  6"},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
		{
			name:       "dynamic weight",
			vs:         VirtualServer{RealServers: three},
			steps:      []pstep{weigh(pA, 10), weigh(pB, -5)},
			wantEvents: []string{},
			wantDests:  []string{"198.51.100.1/10", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
		{
			name:       "unknown server ignored",
			vs:         VirtualServer{RealServers: three},
			steps:      []pstep{down(pS)},
			wantEvents: []string{},
			wantDests:  []string{"198.51.100.1/1", "198.51.100.2/2", "198.51.100.3/3"},
			wantQuorum: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.vs.Service = Service{Key: vip80, Scheduler: WRR}
			var hooked []string
			tt.vs.OnQuorumUp = func() { hooked = append(hooked, "quorum-up") }
			tt.vs.OnQuorumDown = func() { hooked = append(hooked, "quorum-down") }
			tt.vs.OnRealServerUp = func(a netip.AddrPort) { hooked = append(hooked, "real-server-up "+a.String()) }
			tt.vs.OnRealServerDown = func(a netip.AddrPort) { hooked = append(hooked, "real-server-down "+a.String()) }
			p, err := NewPolicy(tt.vs)
			if err != nil {
				t.Fatal(err)
			}
			events := []string{}
			var evs []Event
			for _, s := range tt.steps {
				if s.weight != nil {
					evs = append(evs, p.SetWeight(s.addr, *s.weight)...)
				} else {
					evs = append(evs, p.Set(s.addr, s.check, s.up)...)
				}
			}
			wantHooks := []string{}
			for _, e := range evs {
				a := ""
				if e.Addr.IsValid() {
					a = e.Addr.String()
				}
				events = append(events, e.Kind.String()+" "+a+" "+itoa(e.Weight))
				wantHooks = append(wantHooks, (e.Kind.String() + " " + a)[:len(e.Kind.String())+len(a)+min(len(a), 1)])
			}
			if diff := cmp.Diff(tt.wantEvents, events); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantHooks, append([]string{}, hooked...)); diff != "" {
				t.Errorf("hooks (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantDests, summary(p.Service())); diff != "" {
				t.Errorf("desired real servers (-want +got):\n%s", diff)
			}
			if p.QuorumUp() != tt.wantQuorum {
				t.Errorf("QuorumUp() = %v, want %v", p.QuorumUp(), tt.wantQuorum)
			}
		})
	}
}

func TestPolicyOmega(t *testing.T) {
	vs := VirtualServer{Service: Service{Key: vip80}, Omega: true,
		RealServers: []RealServer{{Destination: Destination{Addr: pA, Weight: 1}}, {Destination: Destination{Addr: pB, Weight: 1}}}}
	p, err := NewPolicy(vs)
	if err != nil {
		t.Fatal(err)
	}
	p.Set(pB, "", false)
	evs := p.Shutdown()
	want := []Event{{Kind: RealServerDown, Addr: pA}, {Kind: QuorumDown}}
	if diff := cmp.Diff(want, evs, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
		t.Errorf("Shutdown events (-want +got):\n%s", diff)
	}
	if evs := p.Set(pB, "", true); evs != nil || p.Shutdown() != nil {
		t.Error("reports after Shutdown were not ignored")
	}
	vs.Omega = false
	p, _ = NewPolicy(vs)
	if evs := p.Shutdown(); len(evs) != 0 {
		t.Errorf("Shutdown without omega: %v", evs)
	}
}

func TestPolicyValidate(t *testing.T) {
	vs := VirtualServer{Service: Service{Key: vip80}, Quorum: -1,
		RealServers: []RealServer{{Destination: Destination{Addr: pA, Weight: 1}}},
		SorryServer: &Destination{Addr: pA}}
	if _, err := NewPolicy(vs); err == nil {
		t.Fatal("NewPolicy accepted a negative quorum and a duplicate sorry server")
	}
}
