package ipvs_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nux-root/keepalived-go/ipvs"
)

// OpenAt and Config.NetNS reach another namespace's IPVS table, which the
// initial namespace does not see.
func TestKernelNetNS(t *testing.T) {
	root := openKernel(t)
	path, release := newNetNS(t)
	defer release()
	ctx := context.Background()
	m, err := ipvs.Dial(ctx, ipvs.Config{NetNS: path})
	if err != nil {
		t.Fatalf("Dial in %s: %v", path, err)
	}
	key := ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::10]:53"))
	desired := ipvs.State{Services: []ipvs.Service{{Key: key, Scheduler: ipvs.RR,
		Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Weight: 1}}}}}
	apply(t, m, desired)
	st, err := m.State(ctx)
	if err != nil || len(st.Services) != 1 {
		t.Errorf("namespace table: %+v, %v", st.Services, err)
	}
	if rst, _ := root.State(ctx); len(rst.Services) != 0 {
		t.Errorf("initial namespace sees %d services", len(rst.Services))
	}
	if strings.Contains(listing(t), "2001:db8::10") {
		t.Error("ipvsadm in the initial namespace sees the service")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ipvs.OpenAt(ctx, "/nonexistent/ns"); err == nil {
		t.Error("OpenAt of a missing path succeeded")
	}
}

// newNetNS makes a network namespace held by a locked thread and returns
// its path; release ends the thread (and so the namespace).
func newNetNS(t *testing.T) (string, func()) {
	t.Helper()
	type result struct {
		path string
		err  error
	}
	ch := make(chan result, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{path: fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())}
		<-done
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("unshare: %v", r.err)
	}
	var once sync.Once
	return r.path, func() { once.Do(func() { close(done) }) }
}
