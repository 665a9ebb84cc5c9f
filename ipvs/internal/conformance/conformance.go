// Package conformance holds the table of kernel operations, with the error
// each must give, that every [ipvs.Kernel] implementation is run against:
// the in-memory model of package ipvstest (host), and the real kernel
// through [ipvs.Netlink] and the moby/ipvs adapter (VM), which is what
// keeps the model and the adapters honest.
package conformance

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/nux-root/keepalived-go/ipvs"
)

// Case is a sequence of kernel operations with the error each must give.
type Case struct {
	Name  string
	Steps []Step
}

// Step is one operation and its expected error: nil or a sentinel of
// package ipvs, matched with errors.Is.
type Step struct {
	Op   ipvs.Op
	Want error
}

// Run executes the steps on k and stops the test at the first step whose
// error differs from the expected one.
func (c Case) Run(t *testing.T, ctx context.Context, k ipvs.Kernel) {
	t.Helper()
	for i, s := range c.Steps {
		err := k.Exec(ctx, s.Op)
		switch {
		case s.Want == nil && err != nil:
			t.Fatalf("step %d %v: %v", i, s.Op, err)
		case s.Want != nil && !errors.Is(err, s.Want):
			t.Fatalf("step %d %v: error %v, want %v", i, s.Op, err, s.Want)
		}
	}
}

// Cases returns the conformance cases. Each case leaves the table as it
// found it when it passes.
func Cases() []Case {
	keyA := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	keyB := ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::10]:53"))
	keyC := ipvs.FWMarkService(ipvs.IPv4, 42)
	rs4 := netip.MustParseAddrPort("198.51.100.1:80")
	rs4NoPort := netip.MustParseAddrPort("198.51.100.4:0")
	rs6 := netip.MustParseAddrPort("[2001:db8::1]:53")

	a := ipvs.Service{Key: keyA, Scheduler: ipvs.RR}
	v6 := ipvs.Service{Key: keyB, Scheduler: ipvs.WRR}
	d1 := ipvs.Destination{Addr: rs4, Weight: 1}
	add := func(s ipvs.Service) ipvs.Op { return ipvs.Op{Kind: ipvs.AddService, Service: s} }
	addD := func(s ipvs.Service, d ipvs.Destination) ipvs.Op {
		return ipvs.Op{Kind: ipvs.AddDestination, Service: s, Destination: d}
	}
	op := func(k ipvs.OpKind, s ipvs.Service, d ipvs.Destination) ipvs.Op {
		return ipvs.Op{Kind: k, Service: s, Destination: d}
	}
	cleanup := Step{Op: op(ipvs.DeleteService, a, ipvs.Destination{})}
	cases := []Case{
		{"duplicate service", []Step{{add(a), nil}, {add(a), ipvs.ErrExist}, cleanup}},
		{"update missing service", []Step{{op(ipvs.UpdateService, a, ipvs.Destination{}), ipvs.ErrNoService}}},
		{"delete missing service", []Step{{op(ipvs.DeleteService, a, ipvs.Destination{}), ipvs.ErrNoService}}},
		{"unknown scheduler", []Step{{add(ipvs.Service{Key: keyA, Scheduler: "nosuch"}), ipvs.ErrNoModule}}},
		{"real server without service", []Step{{addD(a, d1), ipvs.ErrNoService}}},
		{"duplicate real server", []Step{{add(a), nil}, {addD(a, d1), nil}, {addD(a, d1), ipvs.ErrExist}, cleanup}},
		{"update missing real server", []Step{{add(a), nil}, {op(ipvs.UpdateDestination, a, d1), ipvs.ErrNoDestination}, cleanup}},
		{"delete missing real server", []Step{{add(a), nil}, {op(ipvs.DeleteDestination, a, d1), ipvs.ErrNoDestination}, cleanup}},
		{"lower threshold above upper", []Step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: rs4, Weight: 1, UpperThreshold: 5, LowerThreshold: 6}), ipvs.ErrInvalid}, cleanup}},
		{"negative weight", []Step{{add(a), nil}, {addD(a, ipvs.Destination{Addr: rs4, Weight: -1}), ipvs.ErrInvalid}, cleanup}},
		{"mixed family without tunnel", []Step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Weight: 1, Forward: ipvs.Route}), ipvs.ErrInvalid}, cleanup}},
		{"mixed family tunnel", []Step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Weight: 1, Forward: ipvs.Tunnel}), nil}, cleanup}},
		{"multicast real server", []Step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("224.0.0.5:80"), Weight: 1}), ipvs.ErrInvalid}, cleanup}},
		{"gue without port", []Step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: rs4, Weight: 1, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE}), ipvs.ErrInvalid}, cleanup}},
		{"update and delete", []Step{{add(v6), nil},
			{addD(v6, ipvs.Destination{Addr: rs6, Weight: 1}), nil},
			{op(ipvs.UpdateDestination, v6, ipvs.Destination{Addr: rs6, Weight: 9, UpperThreshold: 100, LowerThreshold: 50}), nil},
			{op(ipvs.UpdateService, ipvs.Service{Key: keyB, Scheduler: ipvs.SH, Flags: ipvs.SHPort}, ipvs.Destination{}), nil},
			{op(ipvs.DeleteDestination, v6, ipvs.Destination{Addr: rs6}), nil},
			{op(ipvs.DeleteService, v6, ipvs.Destination{}), nil}}},
	}
	for _, s := range ipvs.Schedulers() {
		svc := ipvs.Service{Key: keyC, Scheduler: s}
		cases = append(cases, Case{"scheduler " + string(s), []Step{{add(svc), nil},
			{addD(svc, ipvs.Destination{Addr: rs4NoPort, Weight: 1, Forward: ipvs.Route}), nil},
			{op(ipvs.DeleteService, svc, ipvs.Destination{}), nil}}})
	}
	return cases
}

// BenchState returns nsvc TCP services on 192.0.2.10 (ports 1..nsvc), each
// with ndst NAT real servers 198.51.100.1.. port 80, scheduler wrr.
func BenchState(nsvc, ndst int) ipvs.State {
	st := ipvs.State{Services: make([]ipvs.Service, nsvc)}
	for i := range st.Services {
		s := ipvs.Service{Key: ipvs.TCPService(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(1+i))), Scheduler: ipvs.WRR}
		for j := range ndst {
			s.Destinations = append(s.Destinations, ipvs.Destination{
				Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(1 + j)}), 80), Weight: 1})
		}
		st.Services[i] = s
	}
	return st
}
