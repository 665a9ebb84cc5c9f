package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/internal/vm"
	"github.com/nux-root/keepalived-go/ipvs"
)

// TestKernelLVS runs the LVS part of the daemon in the kernel VM: a
// virtual server with two real servers on loopback, each with a
// TCP_CHECK. A real server whose listener closes leaves the kernel table,
// comes back when it listens again, and shutdown removes the service.
func TestKernelLVS(t *testing.T) {
	requireGuest(t)
	serveLoopback(t, "198.51.100.1:8080")
	l2 := serveLoopback(t, "198.51.100.2:8080")

	confText := `
virtual_server 192.0.2.10 80 {
    delay_loop 0.2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
    real_server 198.51.100.2 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`
	c := parse(t, confText)
	d := newDaemon(slog.New(slog.NewTextHandler(os.Stderr, nil)), options{Check: true, ScriptTimeout: time.Second, ConfigID: "test"}, newMetrics())
	d.run(c)
	stopped := false
	defer func() {
		if !stopped {
			d.shutdown()
		}
	}()
	k, err := ipvs.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	dests := func() []string { return realServers(t, k, key) }
	waitDests := func(want ...string) {
		t.Helper()
		waitRealServers(t, k, key, want...)
	}
	waitDests("198.51.100.1:8080 w1", "198.51.100.2:8080 w2")

	l2.Close()
	waitDests("198.51.100.1:8080 w1")

	// Reload with a new weight for the healthy server: an update in place;
	// the failed server's checker keeps its state, so it does not come back.
	path := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(path, []byte(strings.Replace(confText, "weight 1", "weight 4", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.reload(path); err != nil {
		t.Fatalf("reload: %v", err)
	}
	waitDests("198.51.100.1:8080 w4")
	for range 10 {
		if got := dests(); fmt.Sprint(got) != "[198.51.100.1:8080 w4]" {
			t.Fatalf("after reload real servers = %v, want only 198.51.100.1:8080 w4", got)
		}
		time.Sleep(100 * time.Millisecond)
	}

	serveLoopback(t, "198.51.100.2:8080")
	waitDests("198.51.100.1:8080 w4", "198.51.100.2:8080 w2")

	d.shutdown()
	stopped = true
	st, err := k.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Service(key); ok {
		t.Errorf("service left in the kernel after shutdown: %+v", st.Services)
	}
}

// TestKernelLVSQuorum: when the healthy weight falls below the quorum the
// sorry server replaces the real servers, and they come back with it.
func TestKernelLVSQuorum(t *testing.T) {
	requireGuest(t)
	l := serveLoopback(t, "198.51.100.3:8080")
	c := parse(t, `
virtual_server 192.0.2.11 80 {
    delay_loop 0.2
    lb_algo wrr
    protocol TCP
    quorum 2
    sorry_server 198.51.100.9 8080
    real_server 198.51.100.3 8080 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
            retry 0
        }
    }
}
`)
	d := newDaemon(slog.New(slog.NewTextHandler(os.Stderr, nil)), options{Check: true, ScriptTimeout: time.Second}, nil)
	d.run(c)
	defer d.shutdown()
	k, err := ipvs.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.11:80"))
	waitRealServers(t, k, key, "198.51.100.3:8080 w2")
	l.Close()
	waitRealServers(t, k, key, "198.51.100.9:8080 w1")
}

// requireGuest skips (fails under RequireAll) outside the kernel VM: the
// TestKernel tests change the whole IPVS table.
func requireGuest(t *testing.T) {
	t.Helper()
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
}

// serveLoopback puts the address of addr on lo and accepts (and closes)
// TCP connections on addr until the returned listener is closed (at the
// latest in Cleanup).
func serveLoopback(t *testing.T, addr string) net.Listener {
	t.Helper()
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddrPort(addr).Addr()
	nla, _ := netlink.ParseAddr(a.String() + "/32")
	if err := netlink.AddrAdd(lo, nla); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatalf("add %s to lo: %v", a, err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

// realServers returns the sorted "addr wN" real servers of the service
// key in the kernel table (none when the service is absent).
func realServers(t *testing.T, k *ipvs.Netlink, key ipvs.ServiceKey) []string {
	t.Helper()
	st, err := k.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	svc, ok := st.Service(key)
	if !ok {
		return nil
	}
	var out []string
	for _, d := range svc.Destinations {
		out = append(out, fmt.Sprintf("%s w%d", d.Addr, d.Weight))
	}
	sort.Strings(out)
	return out
}

// waitRealServers waits (20 s at most) until the real servers of key are
// want.
func waitRealServers(t *testing.T, k *ipvs.Netlink, key ipvs.ServiceKey, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := realServers(t, k, key)
		if fmt.Sprint(got) == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("real servers = %v, want %v", got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
