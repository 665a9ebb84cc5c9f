package vip_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/vip"
)

func TestPlan(t *testing.T) {
	a1 := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	a1Label := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:v"}
	a2 := vip.Address{Prefix: netip.MustParsePrefix("2001:db8::100/64"), Interface: "eth0"}
	a3 := vip.Address{Prefix: netip.MustParsePrefix("198.51.100.1/32"), Interface: "eth1"}
	mapped := vip.Address{Prefix: netip.PrefixFrom(netip.MustParseAddr("::ffff:198.51.100.1"), 32), Interface: "eth1"}
	r1 := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2")}
	r1Metric := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2"), Metric: 10}
	r1Src := vip.Route{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2"), Src: netip.MustParseAddr("192.0.2.100")}
	u1 := vip.Rule{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 1000}
	u2 := vip.Rule{To: netip.MustParsePrefix("2001:db8:2::/48"), Table: 100}
	hop := func(gw string, w int) vip.Nexthop { return vip.Nexthop{Gateway: netip.MustParseAddr(gw), Weight: w} }
	mp1 := vip.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Nexthops: vip.NewNexthops(hop("192.0.2.2", 1), hop("192.0.2.3", 2))}
	mp1Again := vip.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Nexthops: vip.NewNexthops(hop("192.0.2.2", 1), hop("192.0.2.3", 2))}
	mp2 := vip.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Nexthops: vip.NewNexthops(hop("192.0.2.2", 1), hop("192.0.2.4", 2))}
	bad := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.9/24")} // no interface

	tests := []struct {
		name           string
		owned, desired vip.Set
		want           []vip.Op
	}{
		{name: "empty"},
		{
			name:    "add all from nothing, addresses before routes before rules",
			desired: vip.Set{Rules: []vip.Rule{u1}, Routes: []vip.Route{r1}, Addresses: []vip.Address{a2, a1}},
			want: []vip.Op{
				{Kind: vip.OpAddAddress, Address: a1},
				{Kind: vip.OpAddAddress, Address: a2},
				{Kind: vip.OpAddRoute, Route: r1},
				{Kind: vip.OpAddRule, Rule: u1},
			},
		},
		{
			name:    "remove all, rules before routes before addresses",
			owned:   vip.Set{Rules: []vip.Rule{u1, u2}, Routes: []vip.Route{r1}, Addresses: []vip.Address{a1, a2}},
			desired: vip.Set{},
			want: []vip.Op{
				{Kind: vip.OpRemoveRule, Rule: u1},
				{Kind: vip.OpRemoveRule, Rule: u2},
				{Kind: vip.OpRemoveRoute, Route: r1},
				{Kind: vip.OpRemoveAddress, Address: a1},
				{Kind: vip.OpRemoveAddress, Address: a2},
			},
		},
		{
			name:    "same set: nothing",
			owned:   vip.Set{Rules: []vip.Rule{u1}, Routes: []vip.Route{r1}, Addresses: []vip.Address{a1, a2}},
			desired: vip.Set{Rules: []vip.Rule{u1}, Routes: []vip.Route{r1}, Addresses: []vip.Address{a2, a1}},
		},
		{
			name:    "duplicates in desired count once",
			desired: vip.Set{Addresses: []vip.Address{a1, a1}, Routes: []vip.Route{r1, r1}},
			want:    []vip.Op{{Kind: vip.OpAddAddress, Address: a1}, {Kind: vip.OpAddRoute, Route: r1}},
		},
		{
			name:    "changed attribute: remove then add",
			owned:   vip.Set{Addresses: []vip.Address{a1}, Routes: []vip.Route{r1}},
			desired: vip.Set{Addresses: []vip.Address{a1Label}, Routes: []vip.Route{r1Src}},
			want: []vip.Op{
				{Kind: vip.OpRemoveRoute, Route: r1},
				{Kind: vip.OpRemoveAddress, Address: a1},
				{Kind: vip.OpAddAddress, Address: a1Label},
				{Kind: vip.OpAddRoute, Route: r1Src},
			},
		},
		{
			name:    "metric makes a different route: the old one goes",
			owned:   vip.Set{Routes: []vip.Route{r1}},
			desired: vip.Set{Routes: []vip.Route{r1, r1Metric}},
			want:    []vip.Op{{Kind: vip.OpAddRoute, Route: r1Metric}},
		},
		{
			name:    "partial overlap",
			owned:   vip.Set{Addresses: []vip.Address{a1, a2}, Rules: []vip.Rule{u1}},
			desired: vip.Set{Addresses: []vip.Address{a2, a3}, Rules: []vip.Rule{u1, u2}},
			want: []vip.Op{
				{Kind: vip.OpRemoveAddress, Address: a1},
				{Kind: vip.OpAddAddress, Address: a3},
				{Kind: vip.OpAddRule, Rule: u2},
			},
		},
		{
			name:    "a changed next hop replaces the route",
			owned:   vip.Set{Routes: []vip.Route{mp1}},
			desired: vip.Set{Routes: []vip.Route{mp2}},
			want:    []vip.Op{{Kind: vip.OpRemoveRoute, Route: mp1}, {Kind: vip.OpAddRoute, Route: mp2}},
		},
		{
			name:    "equal next hop lists are the same route",
			owned:   vip.Set{Routes: []vip.Route{mp1}},
			desired: vip.Set{Routes: []vip.Route{mp1Again}},
		},
		{
			name:    "IPv4-mapped address is the IPv4 address",
			owned:   vip.Set{Addresses: []vip.Address{a3}},
			desired: vip.Set{Addresses: []vip.Address{mapped}},
		},
		{
			name:    "invalid entries are ignored",
			desired: vip.Set{Addresses: []vip.Address{bad}, Routes: []vip.Route{{}}, Rules: []vip.Rule{{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := vip.Plan(tt.owned, tt.desired)
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y }),
				cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
				t.Errorf("Plan (-want +got):\n%s", diff)
			}
			// Planning again from the result's end state is a no-op.
			if again := vip.Plan(tt.desired, tt.desired); len(again) != 0 {
				t.Errorf("Plan(desired, desired) = %v, want none", again)
			}
		})
	}
}

func TestSetValidate(t *testing.T) {
	a := vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}
	b := a
	b.Label = "eth0:x"
	tests := []struct {
		name string
		set  vip.Set
		want []string // substrings of the error, none for valid
	}{
		{name: "valid", set: vip.Set{Addresses: []vip.Address{a, a}, Routes: []vip.Route{{Dst: netip.MustParsePrefix("203.0.113.0/24")}}, Rules: []vip.Rule{{Table: 10}}}},
		{name: "every problem", set: vip.Set{
			Addresses: []vip.Address{a, b, {Prefix: netip.MustParsePrefix("192.0.2.1/24")}},
			Routes:    []vip.Route{{}},
			Rules:     []vip.Rule{{Priority: 5}},
		}, want: []string{"given twice", "empty interface", "invalid destination", "table required"}},
		{name: "route and rule options", set: vip.Set{
			Addresses: []vip.Address{
				{Prefix: netip.MustParsePrefix("192.0.2.5/32"), Interface: "eth0", Peer: netip.MustParsePrefix("2001:db8::1/128")},
				{Prefix: netip.MustParsePrefix("192.0.2.6/32"), Interface: "eth0", PreferredLft: -5},
			},
			Routes: []vip.Route{
				{Dst: netip.MustParsePrefix("203.0.113.0/24"), Type: vip.RouteBlackhole, Gateway: netip.MustParseAddr("192.0.2.2")},
				{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.2"), Nexthops: vip.NewNexthops(vip.Nexthop{Weight: 300})},
				{Dst: netip.MustParsePrefix("2001:db8:1::/48"), SrcPrefix: netip.MustParsePrefix("192.0.2.0/24")},
			},
			Rules: []vip.Rule{{Table: 1, Dport: vip.PortRange{Start: 90, End: 80}, Suppress: true, SuppressPrefixlen: 200},
				{L3mdev: true, Table: 5}, {L3mdev: true, IPProto: 6}},
		}, want: []string{"l3mdev takes no table", "l3mdev with ipproto", "peer must have", "negative preferred lifetime", "has no gateway", "with nexthops",
			"without gateway or interface", "not in 1..256", "another family", "reversed", "not in 0..128"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.set.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate = nil, want an error")
			}
			for _, w := range tt.want {
				if !contains(err.Error(), w) {
					t.Errorf("Validate = %q, lacks %q", err, w)
				}
			}
		})
	}
}

func TestOpString(t *testing.T) {
	op := vip.Op{Kind: vip.OpAddAddress, Address: vip.Address{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0"}}
	if got, want := op.String(), "ip addr add 192.0.2.100/24 dev eth0"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	if got, want := vip.OpKind(99).String(), "OpKind(99)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestNexthops(t *testing.T) {
	hops := []vip.Nexthop{
		{Gateway: netip.MustParseAddr("192.0.2.2"), Weight: 1},
		{Gateway: netip.MustParseAddr("2001:db8::2"), Interface: "eth1", Weight: 256},
		{Interface: "veth-long-name0"},
	}
	n := vip.NewNexthops(hops...)
	if diff := cmp.Diff(hops, n.All(), cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
		t.Errorf("All (-want +got):\n%s", diff)
	}
	if n.Len() != 3 || !n.Equal(vip.NewNexthops(hops...)) || n.Equal(vip.NewNexthops(hops[:2]...)) {
		t.Errorf("Len/Equal wrong for %v", n.All())
	}
	if (vip.Nexthops{}).Len() != 0 || vip.NewNexthops() != (vip.Nexthops{}) {
		t.Error("the empty list is not the zero value")
	}
	r := vip.Route{Dst: netip.MustParsePrefix("198.51.100.0/24"), Type: vip.RouteUnicast, Nexthops: n}
	if got, want := r.String(), "198.51.100.0/24 nexthop via 192.0.2.2 weight 1 nexthop via 2001:db8::2 dev eth1 weight 256 nexthop dev veth-long-name0 weight 1"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
}
