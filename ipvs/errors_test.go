package ipvs_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/ipvstest"
)

// The suite's conventions: ErrClosed is net.ErrClosed, ErrNotSupported
// matches errors.ErrUnsupported, and every error a caller sees starts with
// "ipvs: " exactly once.
func TestErrorConventions(t *testing.T) {
	if ipvs.ErrClosed != net.ErrClosed {
		t.Error("ErrClosed is not net.ErrClosed")
	}
	if !errors.Is(ipvs.ErrNotSupported, errors.ErrUnsupported) {
		t.Error("ErrNotSupported does not match errors.ErrUnsupported")
	}
	ctx := context.Background()
	k := ipvstest.NewKernel()
	m, err := ipvs.New(ipvs.Config{}, k)
	if err != nil {
		t.Fatal(err)
	}
	badSvc := ipvs.Service{Key: keyA, Scheduler: ipvs.RR, Destinations: []ipvs.Destination{{Addr: rsV4[0], Weight: -1}}}
	var errs []error
	_, err = m.Apply(ctx, ipvs.State{Services: []ipvs.Service{badSvc}})
	errs = append(errs, err)
	errs = append(errs, k.Exec(ctx, ipvs.Op{Kind: ipvs.AddService, Service: ipvs.Service{Key: keyA, Scheduler: "nosuch"}}))
	errs = append(errs, k.Exec(ctx, ipvs.Op{Kind: ipvs.AddService, Service: ipvs.Service{Key: keyA, Persistence: ipvs.Persistence{Timeout: 1500 * time.Millisecond}}}))
	_, err = ipvs.New(ipvs.Config{CallTimeout: -1}, k)
	errs = append(errs, err)
	if m2, err := ipvs.New(ipvs.Config{}, failing{}); err == nil {
		_, err = m2.Apply(ctx, ipvs.State{})
		errs = append(errs, err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply(ctx, ipvs.State{})
	if !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("Apply after Close = %v, want ErrClosed", err)
	}
	errs = append(errs, err, m.Close())
	_, err = ipvs.Open(ctx) // fails on the host (no ip_vs) or on non-Linux; nil in the VM
	errs = append(errs, err)
	n := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		n++
		t.Logf("error %d: %v", i, err)
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "ipvs: ") || strings.Count(line, "ipvs: ") != 1 {
				t.Errorf("error %d: %q: want the prefix \"ipvs: \" exactly once", i, line)
			}
		}
	}
	if n < 7 {
		t.Errorf("only %d of the error paths failed", n)
	}
}

// failing is a Kernel whose State fails with an error already prefixed, as
// a Kernel of this package would.
type failing struct{ ipvs.Kernel }

func (failing) State(context.Context) (ipvs.State, error) {
	return ipvs.State{}, errors.New("ipvs: list services: netlink receive: no buffer space available")
}
