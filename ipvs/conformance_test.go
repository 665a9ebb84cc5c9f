package ipvs_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/nux-root/keepalived-go/ipvs"
)

// conformanceCase is a sequence of kernel operations with the error each
// must give. The same cases run against the in-memory model (host) and the
// real kernel (VM), which is what keeps the model honest.
type conformanceCase struct {
	name  string
	steps []step
}

type step struct {
	op   ipvs.Op
	want error // nil or a sentinel
}

func (c conformanceCase) run(t *testing.T, ctx context.Context, k ipvs.Kernel) {
	t.Helper()
	for i, s := range c.steps {
		err := k.Exec(ctx, s.op)
		switch {
		case s.want == nil && err != nil:
			t.Fatalf("step %d %v: %v", i, s.op, err)
		case s.want != nil && !errors.Is(err, s.want):
			t.Fatalf("step %d %v: error %v, want %v", i, s.op, err, s.want)
		}
	}
}

func conformanceCases() []conformanceCase {
	a := ipvs.Service{Key: keyA, Scheduler: ipvs.RR}
	v6 := ipvs.Service{Key: keyB, Scheduler: ipvs.WRR}
	d1 := ipvs.Destination{Addr: rsV4[0], Weight: 1}
	add := func(s ipvs.Service) ipvs.Op { return ipvs.Op{Kind: ipvs.AddService, Service: s} }
	addD := func(s ipvs.Service, d ipvs.Destination) ipvs.Op {
		return ipvs.Op{Kind: ipvs.AddDestination, Service: s, Destination: d}
	}
	op := func(k ipvs.OpKind, s ipvs.Service, d ipvs.Destination) ipvs.Op {
		return ipvs.Op{Kind: k, Service: s, Destination: d}
	}
	cleanup := step{op: op(ipvs.DeleteService, a, ipvs.Destination{})}
	cases := []conformanceCase{
		{"duplicate service", []step{{add(a), nil}, {add(a), ipvs.ErrExist}, cleanup}},
		{"update missing service", []step{{op(ipvs.UpdateService, a, ipvs.Destination{}), ipvs.ErrNoService}}},
		{"delete missing service", []step{{op(ipvs.DeleteService, a, ipvs.Destination{}), ipvs.ErrNoService}}},
		{"unknown scheduler", []step{{add(ipvs.Service{Key: keyA, Scheduler: "nosuch"}), ipvs.ErrNoModule}}},
		{"real server without service", []step{{addD(a, d1), ipvs.ErrNoService}}},
		{"duplicate real server", []step{{add(a), nil}, {addD(a, d1), nil}, {addD(a, d1), ipvs.ErrExist}, cleanup}},
		{"update missing real server", []step{{add(a), nil}, {op(ipvs.UpdateDestination, a, d1), ipvs.ErrNoDestination}, cleanup}},
		{"delete missing real server", []step{{add(a), nil}, {op(ipvs.DeleteDestination, a, d1), ipvs.ErrNoDestination}, cleanup}},
		{"lower threshold above upper", []step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: rsV4[0], Weight: 1, UpperThreshold: 5, LowerThreshold: 6}), ipvs.ErrInvalid}, cleanup}},
		{"negative weight", []step{{add(a), nil}, {addD(a, ipvs.Destination{Addr: rsV4[0], Weight: -1}), ipvs.ErrInvalid}, cleanup}},
		{"mixed family without tunnel", []step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Weight: 1, Forward: ipvs.Route}), ipvs.ErrInvalid}, cleanup}},
		{"mixed family tunnel", []step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("[2001:db8::1]:80"), Weight: 1, Forward: ipvs.Tunnel}), nil}, cleanup}},
		{"multicast real server", []step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: netip.MustParseAddrPort("224.0.0.5:80"), Weight: 1}), ipvs.ErrInvalid}, cleanup}},
		{"gue without port", []step{{add(a), nil},
			{addD(a, ipvs.Destination{Addr: rsV4[0], Weight: 1, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE}), ipvs.ErrInvalid}, cleanup}},
		{"update and delete", []step{{add(v6), nil},
			{addD(v6, ipvs.Destination{Addr: rsV6[0], Weight: 1}), nil},
			{op(ipvs.UpdateDestination, v6, ipvs.Destination{Addr: rsV6[0], Weight: 9, UpperThreshold: 100, LowerThreshold: 50}), nil},
			{op(ipvs.UpdateService, ipvs.Service{Key: keyB, Scheduler: ipvs.SH, Flags: ipvs.SHPort}, ipvs.Destination{}), nil},
			{op(ipvs.DeleteDestination, v6, ipvs.Destination{Addr: rsV6[0]}), nil},
			{op(ipvs.DeleteService, v6, ipvs.Destination{}), nil}}},
	}
	for _, s := range ipvs.Schedulers() {
		svc := ipvs.Service{Key: keyC, Scheduler: s}
		cases = append(cases, conformanceCase{"scheduler " + string(s), []step{{add(svc), nil},
			{addD(svc, ipvs.Destination{Addr: rsV4[3], Weight: 1, Forward: ipvs.Route}), nil},
			{op(ipvs.DeleteService, svc, ipvs.Destination{}), nil}}})
	}
	return cases
}
