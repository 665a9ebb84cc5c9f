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
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"198.51.100.1/32", "198.51.100.2/32"} {
		addr, _ := netlink.ParseAddr(a)
		if err := netlink.AddrAdd(lo, addr); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatalf("add %s to lo: %v", a, err)
		}
	}
	listen := func(addr string) net.Listener {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
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
	l1 := listen("198.51.100.1:8080")
	defer l1.Close()
	l2 := listen("198.51.100.2:8080")

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
	d.met.d = d
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
	dests := func() []string {
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
	waitDests := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := dests()
			if fmt.Sprint(got) == fmt.Sprint(want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("real servers = %v, want %v", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
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

	l2 = listen("198.51.100.2:8080")
	defer l2.Close()
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
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("198.51.100.3/32")
	if err := netlink.AddrAdd(lo, addr); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "198.51.100.3:8080")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
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
	wait := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, err := k.State(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			if svc, ok := st.Service(key); ok {
				for _, d := range svc.Destinations {
					got = append(got, fmt.Sprintf("%s w%d", d.Addr, d.Weight))
				}
			}
			sort.Strings(got)
			if fmt.Sprint(got) == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("real servers = %v, want %s", got, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	wait("[198.51.100.3:8080 w2]")
	l.Close()
	wait("[198.51.100.9:8080 w1]")
}
