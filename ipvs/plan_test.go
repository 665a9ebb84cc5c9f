package ipvs

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	vip80  = TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	vip443 = TCPService(netip.MustParseAddrPort("192.0.2.10:443"))
	rs1    = netip.MustParseAddrPort("198.51.100.1:8080")
	rs2    = netip.MustParseAddrPort("198.51.100.2:8080")
)

func svc(k ServiceKey, ds ...Destination) Service {
	return Service{Key: k, Scheduler: WRR, Destinations: ds}
}

func dst(a netip.AddrPort, w int) Destination { return Destination{Addr: a, Weight: w} }

// opStrings renders ops as ipvsadm commands, which makes diffs readable.
func opStrings(ops []Op) []string {
	out := []string{}
	for _, op := range ops {
		out = append(out, op.String())
	}
	return out
}

func TestPlan(t *testing.T) {
	owned := Owned{
		Services:     map[ServiceKey]bool{vip80: true, vip443: true},
		Destinations: map[DestinationKey]bool{{vip80, rs1}: true, {vip80, rs2}: true, {vip443, rs1}: true},
	}
	drained := dst(rs2, 0)
	drainedBusy := drained
	drainedBusy.Counters.ActiveConns = 3
	tests := []struct {
		name    string
		current State
		desired State
		owned   Owned
		removal Removal
		want    []string
	}{
		{name: "empty", want: []string{}},
		{
			name:    "add service and real servers",
			desired: State{Services: []Service{svc(vip80, dst(rs2, 1), dst(rs1, 2))}},
			want: []string{
				"-A -t 192.0.2.10:80 -s wrr",
				"-a -t 192.0.2.10:80 -r 198.51.100.1:8080 -m -w 2",
				"-a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 1",
			},
		},
		{
			name:    "unchanged is untouched",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   owned,
			want:    []string{},
		},
		{
			name:    "counters and stats do not count as changes",
			current: State{Services: []Service{{Key: vip80, Scheduler: WLC, Stats: Stats{Conns: 5}, Destinations: []Destination{drainedBusy}}}},
			desired: State{Services: []Service{{Key: vip80, Destinations: []Destination{drained}}}},
			want:    []string{},
		},
		{
			name:    "weight change is an update",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1), dst(rs2, 1))}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1), dst(rs2, 5))}},
			owned:   owned,
			want:    []string{"-e -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 5"},
		},
		{
			name:    "threshold and forwarding change is an update",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			desired: State{Services: []Service{svc(vip80, Destination{Addr: rs1, Weight: 1, Forward: Route, UpperThreshold: 10, LowerThreshold: 5})}},
			want:    []string{"-e -t 192.0.2.10:80 -r 198.51.100.1:8080 -g -w 1 -x 10 -y 5"},
		},
		{
			name:    "scheduler change is a service update",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			desired: State{Services: []Service{{Key: vip80, Scheduler: SH, Flags: SHFallback | SHPort, Destinations: []Destination{dst(rs1, 1)}}}},
			want:    []string{"-E -t 192.0.2.10:80 -s sh -b sh-fallback,sh-port"},
		},
		{
			name:    "persistence change is a service update",
			current: State{Services: []Service{svc(vip80)}},
			desired: State{Services: []Service{{Key: vip80, Scheduler: WRR, Persistence: Persistence{Timeout: 300 * time.Second, Netmask: 24}}}},
			want:    []string{"-E -t 192.0.2.10:80 -s wrr -p 300 -M 24"},
		},
		{
			name:    "default netmask and scheduler are normalized",
			current: State{Services: []Service{{Key: vip80, Scheduler: WLC, Persistence: Persistence{Timeout: time.Minute, Netmask: 32}}}},
			desired: State{Services: []Service{{Key: vip80, Persistence: Persistence{Timeout: time.Minute}}}},
			want:    []string{},
		},
		{
			name:    "owned real server removed, new one added first",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			desired: State{Services: []Service{svc(vip80, dst(rs2, 1))}},
			owned:   owned,
			want: []string{
				"-a -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 1",
				"-d -t 192.0.2.10:80 -r 198.51.100.1:8080",
			},
		},
		{
			name:    "foreign real server is kept",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1), dst(rs2, 1))}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   Owned{Services: map[ServiceKey]bool{vip80: true}},
			want:    []string{},
		},
		{
			name:    "drain sets weight 0",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1), dst(rs2, 4))}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   owned,
			removal: Drain,
			want:    []string{"-e -t 192.0.2.10:80 -r 198.51.100.2:8080 -m -w 0"},
		},
		{
			name:    "drain waits for connections",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1), drainedBusy)}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   owned,
			removal: Drain,
			want:    []string{},
		},
		{
			name:    "drained and idle is deleted",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1), drained)}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   owned,
			removal: Drain,
			want:    []string{"-d -t 192.0.2.10:80 -r 198.51.100.2:8080"},
		},
		{
			name:    "owned service deleted",
			current: State{Services: []Service{svc(vip80, dst(rs1, 1)), svc(vip443, dst(rs1, 1))}},
			desired: State{Services: []Service{svc(vip80, dst(rs1, 1))}},
			owned:   owned,
			want:    []string{"-D -t 192.0.2.10:443"},
		},
		{
			name:    "owned service drained, then deleted when empty",
			current: State{Services: []Service{svc(vip443, dst(rs1, 1))}},
			owned:   owned,
			removal: Drain,
			want:    []string{"-e -t 192.0.2.10:443 -r 198.51.100.1:8080 -m -w 0"},
		},
		{
			name:    "owned service with idle drained server deleted",
			current: State{Services: []Service{svc(vip443, dst(rs1, 0))}},
			owned:   owned,
			removal: Drain,
			want:    []string{"-d -t 192.0.2.10:443 -r 198.51.100.1:8080", "-D -t 192.0.2.10:443"},
		},
		{
			name:    "foreign real servers do not keep our drained service",
			current: State{Services: []Service{svc(vip443, dst(rs1, 0), dst(rs2, 3))}},
			owned:   Owned{Services: map[ServiceKey]bool{vip443: true}, Destinations: map[DestinationKey]bool{{vip443, rs1}: true}},
			removal: Drain,
			want:    []string{"-d -t 192.0.2.10:443 -r 198.51.100.1:8080", "-D -t 192.0.2.10:443"},
		},
		{
			name:    "our real server in a foreign service is removed",
			current: State{Services: []Service{svc(vip443, dst(rs1, 1), dst(rs2, 3))}},
			owned:   Owned{Destinations: map[DestinationKey]bool{{vip443, rs1}: true}},
			want:    []string{"-d -t 192.0.2.10:443 -r 198.51.100.1:8080"},
		},
		{
			name:    "foreign service never touched",
			current: State{Services: []Service{svc(vip443, dst(rs1, 1))}},
			want:    []string{},
		},
		{
			name:    "timeouts set when they differ",
			current: State{Timeouts: &Timeouts{TCP: 900 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}},
			desired: State{Timeouts: &Timeouts{TCP: 60 * time.Second}},
			want:    []string{"--set 60 0 0"},
		},
		{
			name:    "timeouts equal",
			current: State{Timeouts: &Timeouts{TCP: 60 * time.Second, TCPFin: 120 * time.Second, UDP: 300 * time.Second}},
			desired: State{Timeouts: &Timeouts{TCP: 60 * time.Second}},
			want:    []string{},
		},
		{
			name: "fwmark, IPv6 and tunnel",
			desired: State{Services: []Service{{
				Key: FWMarkService(IPv6, 42), Scheduler: MH, Flags: MHPort,
				Destinations: []Destination{{Addr: netip.MustParseAddrPort("[2001:db8::2]:0"), Weight: 3, Forward: Tunnel, TunnelType: GUE, TunnelPort: 6080, TunnelFlags: TunnelCsum}},
			}}},
			want: []string{
				"-A -f 42 -6 -s mh -b mh-port",
				"-a -f 42 -6 -r [2001:db8::2]:0 -i --tun-type gue --tun-port 6080 --tun-csum -w 3",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.desired.Validate(); err != nil {
				t.Fatalf("desired invalid: %v", err)
			}
			got := opStrings(Plan(tt.current, tt.desired, tt.owned, PlanOptions{Removal: tt.removal}))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	v6 := netip.MustParseAddrPort("[2001:db8::1]:80")
	tests := []struct {
		name string
		svc  Service
		want []string // substrings of the error; none means valid
	}{
		{name: "ok", svc: svc(vip80, dst(rs1, 1))},
		{name: "every scheduler", svc: Service{Key: vip80, Scheduler: OVF}},
		{name: "fwmark ok", svc: Service{Key: FWMarkService(IPv4, 1), Destinations: []Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:0"), Forward: Route}}}},
		{name: "zero key", svc: Service{}, want: []string{"family", "protocol", "address missing", "port 0"}},
		{name: "bad scheduler", svc: Service{Key: vip80, Scheduler: "xx"}, want: []string{`scheduler "xx"`}},
		{name: "sh flags with rr", svc: Service{Key: vip80, Scheduler: RR, Flags: SHPort}, want: []string{"sh or mh"}},
		{name: "ops on tcp", svc: Service{Key: vip80, Flags: OnePacket}, want: []string{"one-packet"}},
		{name: "persistence", svc: Service{Key: vip80, Persistence: Persistence{Timeout: 1500 * time.Millisecond, Netmask: 33, Engine: "x"}},
			want: []string{"whole seconds", "/33", `engine "x"`}},
		{name: "netmask without timeout", svc: Service{Key: TCPService(v6), Persistence: Persistence{Netmask: 64}}, want: []string{"without a timeout"}},
		{name: "duplicate real server", svc: svc(vip80, dst(rs1, 1), dst(rs1, 2)), want: []string{"duplicate"}},
		{name: "real server errors", svc: svc(vip80,
			Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Weight: 70000},
			Destination{Addr: netip.MustParseAddrPort("198.51.100.9:0")},
			Destination{Addr: rs2, Forward: Tunnel, TunnelType: GUE, LowerThreshold: 5}),
			want: []string{"only the Tunnel method", "weight 70000", "NAT needs", "gue tunnel needs", "lower threshold 5"}},
		{name: "mixed family tunnel ok", svc: svc(vip80, Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Forward: Tunnel})},
		{name: "4in6 address", svc: Service{Key: ServiceKey{Family: IPv6, Protocol: TCP, Addr: netip.MustParseAddr("::ffff:192.0.2.1"), Port: 1}}, want: []string{"plain IPv4"}},
		{name: "fwmark with port", svc: Service{Key: ServiceKey{Family: IPv4, FWMark: 1, Port: 80}}, want: []string{"must not set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.svc.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want errors %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %v, want it to mention %q", err, w)
				}
			}
			if strings.Count(err.Error(), "ipvs:") != 1 {
				t.Errorf("package prefix not exactly once: %v", err)
			}
		})
	}
	st := State{Services: []Service{svc(vip80), svc(vip80)}, Timeouts: &Timeouts{UDP: time.Millisecond}}
	if err := st.Validate(); err == nil || !strings.Contains(err.Error(), "duplicate") || !strings.Contains(err.Error(), "timeout 1ms") {
		t.Errorf("State.Validate() = %v, want duplicate and timeout errors", err)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		k    ServiceKey
		want string
	}{
		{TCPService(netip.MustParseAddrPort("192.0.2.1:80")), "TCP 192.0.2.1:80"},
		{UDPService(netip.MustParseAddrPort("[::ffff:192.0.2.1]:53")), "UDP 192.0.2.1:53"},
		{SCTPService(netip.MustParseAddrPort("[2001:db8::1]:9")), "SCTP [2001:db8::1]:9"},
		{FWMarkService(IPv4, 7), "FWM 7"},
		{FWMarkService(IPv6, 7), "FWM 7 IPv6"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		if err := (&Service{Key: tt.k}).Validate(); err != nil {
			t.Errorf("%v: %v", tt.k, err)
		}
	}
	keys, err := AddrRange(TCP, netip.MustParseAddr("192.0.2.254"), netip.MustParseAddr("192.0.3.1"), 80)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range (Group{Name: "g", Keys: keys}).Expand(Service{Scheduler: RR}) {
		got = append(got, s.Key.String()+" "+string(s.Scheduler))
	}
	want := []string{"TCP 192.0.2.254:80 rr", "TCP 192.0.2.255:80 rr", "TCP 192.0.3.0:80 rr", "TCP 192.0.3.1:80 rr"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group expansion (-want +got):\n%s", diff)
	}
	if _, err := AddrRange(TCP, netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.1"), 80); err == nil {
		t.Error("reversed range accepted")
	}
}
