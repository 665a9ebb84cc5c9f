package ipvsmoby_test

import (
	"net"
	"testing"

	moby "github.com/moby/ipvs"
)

// BenchmarkMobyLoop: the same adds through moby/ipvs, one call each (the
// LAB.md baseline).
func BenchmarkMobyLoop(b *testing.B) {
	eachSize(b, func(b *testing.B, svcs, dsts int) {
		openKernel(b)
		h, err := moby.New("")
		if err != nil {
			b.Fatal(err)
		}
		defer h.Close()
		st := benchState(svcs, dsts)
		for b.Loop() {
			b.StopTimer()
			flushIPVS(b)
			b.StartTimer()
			for _, s := range st.Services {
				ms := &moby.Service{AddressFamily: 2, Protocol: 6, Address: net.IP(s.Key.Addr.AsSlice()), Port: s.Key.Port,
					SchedName: string(s.Scheduler), Netmask: 0xffffffff}
				if err := h.NewService(ms); err != nil {
					b.Fatal(err)
				}
				for _, d := range s.Destinations {
					md := &moby.Destination{Address: net.IP(d.Addr.Addr().AsSlice()), Port: d.Addr.Port(), Weight: d.Weight, AddressFamily: 2}
					if err := h.NewDestination(ms, md); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
	})
}
