package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/ipvs"
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

// TestLVSFakeKernel drives the LVS part against the in-memory IPVS model
// through the fake system: services applied once the checkers settle, the
// sync daemon following VI_1 (MASTER alone, BACKUP once a higher-priority
// peer appears), and everything removed at shutdown.
func TestLVSFakeKernel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, `
global_defs {
    lvs_sync_daemon eth0 VI_1 id 5
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
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
		k := td.f.kernel
		ctx := context.Background()
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
		td.run(c)
		time.Sleep(time.Second) // the settle delay (lvsSettle) passes
		synctest.Wait()
		key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
		st, err := k.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if svc, ok := st.Service(key); !ok || len(svc.Destinations) != 2 {
			t.Fatalf("service not applied: %+v", st)
		}
		if diff := cmp.Diff([]string{"backup eth0 5"}, roles()); diff != "" {
			t.Errorf("sync daemons as BACKUP (-want +got):\n%s", diff)
		}
		time.Sleep(5 * time.Second) // master down interval: VI_1 becomes MASTER
		synctest.Wait()
		if diff := cmp.Diff([]string{"master eth0 5"}, roles()); diff != "" {
			t.Errorf("sync daemons as MASTER (-want +got):\n%s", diff)
		}
		stopPeer := runPeer(t, td.f, 200)
		time.Sleep(5 * time.Second) // the peer's master down interval, then VI_1 yields
		synctest.Wait()
		if diff := cmp.Diff([]string{"backup eth0 5"}, roles()); diff != "" {
			t.Errorf("sync daemons after a higher-priority peer (-want +got):\n%s", diff)
		}
		td.shutdown()
		stopPeer()
		st, _ = k.State(ctx)
		if len(st.Services) != 0 {
			t.Errorf("services left after shutdown: %+v", st.Services)
		}
		if r := roles(); len(r) != 0 {
			t.Errorf("sync daemons left after shutdown: %v", r)
		}
	})
}

// TestLVSHealthFake: FILE_CHECK results drive the real servers through
// the health policy: a failed server leaves the table (notify_down), the
// quorum falls and the sorry server takes over (quorum_down), and both
// come back (notify_up, quorum_up); the dump shows the services.
func TestLVSHealthFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		f1, f2 := filepath.Join(dir, "rs1"), filepath.Join(dir, "rs2")
		for _, f := range []string{f1, f2} {
			if err := os.WriteFile(f, []byte("0\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		td, c := newTestDaemon(t, `
track_file rs1 {
    file `+f1+`
    weight 0
}
track_file rs2 {
    file `+f2+`
    weight 0
}
virtual_server 192.0.2.10 80 {
    delay_loop 1
    lb_algo wrr
    lb_kind DR
    protocol TCP
    quorum 3
    quorum_up /bin/qup
    quorum_down /bin/qdown
    sorry_server 198.51.100.9 80
    real_server 198.51.100.1 80 {
        weight 2
        notify_up "/bin/up rs1"
        notify_down "/bin/down rs1"
        FILE_CHECK {
            track_file rs1
            weight 0
        }
    }
    real_server 198.51.100.2 80 {
        weight 1
        FILE_CHECK {
            track_file rs2
            weight 0
        }
    }
}
`)
		key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
		dests := func() []string {
			st, err := td.f.kernel.State(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			svc, ok := st.Service(key)
			if !ok {
				return nil
			}
			var out []string
			for _, d := range svc.Destinations {
				out = append(out, fmt.Sprintf("%s w%d", d.Addr, d.Weight))
			}
			return out
		}
		td.run(c)
		settle(3 * time.Second)
		if diff := cmp.Diff([]string{"198.51.100.1:80 w2", "198.51.100.2:80 w1"}, dests()); diff != "" {
			t.Errorf("healthy real servers (-want +got):\n%s", diff)
		}
		td.f.takeScripts()
		if err := os.WriteFile(f1, []byte("1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		if diff := cmp.Diff([]string{"198.51.100.9:80 w1"}, dests()); diff != "" {
			t.Errorf("below quorum (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"/bin/down rs1", "/bin/qdown"}, sorted(td.f.takeScripts())); diff != "" {
			t.Errorf("scripts when rs1 fails (-want +got):\n%s", diff)
		}
		var dump stateDump
		td.call(func(done func()) { dump = td.snapshot(); done() })
		if len(dump.LVS) == 0 || !strings.Contains(dump.LVS[0], "quorum_up=false") {
			t.Errorf("dump LVS = %q, want quorum down", dump.LVS)
		}
		if err := os.WriteFile(f1, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		if diff := cmp.Diff([]string{"198.51.100.1:80 w2", "198.51.100.2:80 w1"}, dests()); diff != "" {
			t.Errorf("recovered real servers (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"/bin/qup", "/bin/up rs1"}, sorted(td.f.takeScripts())); diff != "" {
			t.Errorf("scripts when rs1 recovers (-want +got):\n%s", diff)
		}
		td.shutdown()
		if got := dests(); got != nil {
			t.Errorf("real servers left after shutdown: %v", got)
		}
	})
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
