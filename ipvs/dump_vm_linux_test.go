package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"os/exec"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/internal/vm"
)

// A dump abandoned half-way, because its caller's context ended, does not
// leave the socket busy: the kernel refuses a new dump (EBUSY) while one
// runs, and the next State must still work.
func TestKernelDumpCancel(t *testing.T) {
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
	flush := func() {
		if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
			t.Errorf("ipvsadm -C: %v\n%s", err, out)
		}
	}
	flush()
	t.Cleanup(flush)
	bg := context.Background()
	k, err := Open(bg)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// Enough services that the dump spans many messages.
	const nsvc = 2000
	var ops []Op
	for i := range nsvc {
		key := TCPService(netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(1+i)))
		ops = append(ops, Op{Kind: AddService, Service: Service{Key: key, Scheduler: RR}})
	}
	if n, err := k.ExecAll(bg, ops, 0); err != nil {
		t.Fatalf("add services: %d done, %v", n, err)
	}
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	msgs := 0
	err = k.run(ctx, func() error {
		return k.roundTripFunc(ctx, time.Time{}, k.family, request{cmd: cmdGetService, dump: true}, func([]byte) error {
			if msgs++; msgs == 1 {
				cancel() // the caller gives up after the first service
			}
			return nil
		})
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned dump = %v, want context.Canceled", err)
	}
	st, err := k.State(bg)
	if err != nil || len(st.Services) != nsvc {
		t.Fatalf("State after an abandoned dump: %d services, %v; want %d", len(st.Services), err, nsvc)
	}
}
