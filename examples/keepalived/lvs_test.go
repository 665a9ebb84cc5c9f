package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/ipvstest"
	"github.com/nux-root/keepalived-go/vrrp"
)

const lvsConf = `
track_file tf {
    file /tmp/kgo-tf
    weight 0
}
virtual_server_group VSG {
    192.0.2.10-12 80
    fwmark 7
}
virtual_server group VSG {
    delay_loop 2
    lb_algo rr
    lb_kind DR
    protocol TCP
    persistence_timeout 30
    real_server 198.51.100.1 80 {
        weight 3
        TCP_CHECK {
            connect_timeout 2
        }
        HTTP_GET {
            url {
                path /health
                status_code 200-299
            }
            url {
                path /ready
            }
        }
        FILE_CHECK {
            track_file tf
        }
    }
}
virtual_server 192.0.2.20 53 {
    protocol UDP
    lb_algo sh
    flag-1
    sorry_server 198.51.100.9 53
    real_server 198.51.100.2 53 {
        lvs_method NAT
        DNS_CHECK {
            type A
            name example.org
        }
        UDP_CHECK {
            payload 0102
        }
        PING_CHECK {
        }
        MISC_CHECK {
            misc_path "/bin/check 'a b'"
            misc_dynamic
        }
        SMTP_CHECK {
        }
        SSL_GET {
            url {
                path /
            }
        }
    }
}
`

func TestLVSTranslation(t *testing.T) {
	c := parse(t, lvsConf)
	if len(c.VirtualServers) != 2 {
		t.Fatalf("%d virtual servers, want 2", len(c.VirtualServers))
	}
	vs := &c.VirtualServers[0]
	svc, keys, err := serviceTemplate(c, vs)
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for _, k := range keys {
		gotKeys = append(gotKeys, k.String())
	}
	var wantKeys []string
	for _, k := range []ipvs.ServiceKey{
		ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80")),
		ipvs.TCPService(netip.MustParseAddrPort("192.0.2.11:80")),
		ipvs.TCPService(netip.MustParseAddrPort("192.0.2.12:80")),
		ipvs.FWMarkService(ipvs.IPv4, 7),
	} {
		wantKeys = append(wantKeys, k.String())
	}
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("group keys (-want +got):\n%s", diff)
	}
	if svc.Scheduler != ipvs.RR || svc.Persistence.Timeout != 30*time.Second {
		t.Errorf("service = %+v, want rr with persistence 30s", svc)
	}
	dst, err := destination(vs, &vs.RealServers[0])
	if err != nil || dst.Forward != ipvs.Route || dst.Weight != 3 {
		t.Errorf("destination = %+v, %v; want DR weight 3", dst, err)
	}

	wantTypes := [][]string{
		{"check.TCP", "check.All", "check.File"},
		{"*check.DNS", "*check.UDP", "check.ICMP", "*check.Script", "check.SMTP", "*check.HTTP"},
	}
	for vi := range c.VirtualServers {
		vs := &c.VirtualServers[vi]
		rs := &vs.RealServers[0]
		var got []string
		for ci := range rs.Checkers {
			ck, err := buildChecker(c, vs, rs, &rs.Checkers[ci])
			if err != nil {
				t.Errorf("%s: %v", rs.Checkers[ci].Kind, err)
				continue
			}
			got = append(got, typeName(ck))
		}
		if diff := cmp.Diff(wantTypes[vi], got); diff != "" {
			t.Errorf("vs %d checker types (-want +got):\n%s", vi, diff)
		}
	}
	vs2 := &c.VirtualServers[1]
	svc2, _, _ := serviceTemplate(c, vs2)
	if svc2.Key != ipvs.UDPService(netip.MustParseAddrPort("192.0.2.20:53")) || svc2.Flags&ipvs.SHFallback == 0 {
		t.Errorf("service 2 = %+v, want UDP 192.0.2.20:53 with sh-fallback", svc2)
	}
	ck, _ := buildChecker(c, vs2, &vs2.RealServers[0], &vs2.RealServers[0].Checkers[3])
	if s := ck.(*check.Script); s.Path != "/bin/check" || len(s.Args) != 1 || s.Args[0] != "a b" || !s.Dynamic {
		t.Errorf("MISC_CHECK = %+v", s)
	}
	run, err := buildVS(c, vs2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := run.pol.Service(); len(got.Destinations) != 1 || got.Destinations[0].Addr.Port() != 53 {
		t.Errorf("policy service = %+v", got)
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

// TestLVSWithoutIPVS: with no ip_vs in the kernel the LVS part logs one
// clear error and does nothing; the daemon keeps running.
func TestLVSWithoutIPVS(t *testing.T) {
	if _, err := os.Stat("/proc/net/ip_vs"); err == nil {
		t.Skip("this kernel has IPVS; the test is about its absence (not a missing prerequisite)")
	}
	c := parse(t, lvsConf)
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	d := newDaemon(log, options{Check: true, ScriptTimeout: time.Second}, nil)
	d.run(c)
	d.shutdown()
	if !strings.Contains(buf.String(), "IPVS is not available") {
		t.Errorf("log lacks the IPVS error:\n%s", buf.String())
	}
}

// TestLVSFakeKernel drives the LVS part against the in-memory IPVS model:
// services applied, the sync daemon following the VRRP state, and
// everything removed at shutdown.
func TestLVSFakeKernel(t *testing.T) {
	c := parse(t, `
global_defs {
    lvs_sync_daemon eth0 VI_1 id 5
}
virtual_server 192.0.2.10 80 {
    lb_algo rr
    protocol TCP
    real_server 198.51.100.1 80 {
        weight 2
    }
    real_server 198.51.100.2 80 {
        weight 3
    }
}
`)
	k := ipvstest.NewKernel()
	mgr, err := ipvs.New(k, ipvs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemon(slog.New(slog.DiscardHandler), options{Check: true, ScriptTimeout: time.Second}, nil)
	d.lvs = newLVS(d)
	d.lvs.mgr = mgr
	d.mu.Lock()
	d.cfg = c
	d.lvs.apply(c)
	d.mu.Unlock()
	ctx := t.Context()
	key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := k.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if svc, ok := st.Service(key); ok && len(svc.Destinations) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not applied: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	roles := func() []string {
		ds, err := k.Daemons(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range ds {
			out = append(out, fmt.Sprintf("%s %s %d", d.Role, d.Interface, d.SyncID))
		}
		return out
	}
	d.lvs.vrrpState("VI_1", vrrp.StateMaster)
	if diff := cmp.Diff([]string{"master eth0 5"}, roles()); diff != "" {
		t.Errorf("sync daemons as MASTER (-want +got):\n%s", diff)
	}
	d.lvs.vrrpState("OTHER", vrrp.StateBackup)
	d.lvs.vrrpState("VI_1", vrrp.StateBackup)
	if diff := cmp.Diff([]string{"backup eth0 5"}, roles()); diff != "" {
		t.Errorf("sync daemons as BACKUP (-want +got):\n%s", diff)
	}
	d.shutdown()
	st, _ := k.State(ctx)
	if len(st.Services) != 0 {
		t.Errorf("services left after shutdown: %+v", st.Services)
	}
	if r := roles(); len(r) != 0 {
		t.Errorf("sync daemons left after shutdown: %v", r)
	}
}
