package main

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

func parse(t *testing.T, src string) *config.Config {
	t.Helper()
	c, _, err := config.Parse("test.conf", []byte(src), config.Options{ConfigID: "test"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

const baseConf = `
vrrp_script chk {
    script "/bin/true arg"
    interval 2
    weight -20
    rise 2
    fall 3
}
track_file tf {
    file /tmp/tf
}
track_file tf0 {
    file /tmp/tf0
    weight 0
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    nopreempt_placeholder
    authentication {
        auth_type PASS
        auth_pass secret
    }
    unicast_src_ip 192.0.2.1
    unicast_peer {
        192.0.2.2
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0 label eth0:vip scope link brd 192.0.2.255
        192.0.2.101
        2001:db8::100/64
    }
    virtual_ipaddress_excluded {
        198.51.100.9/24
    }
    virtual_routes {
        203.0.113.0/24 via 192.0.2.254 table 100 metric 5
        blackhole 198.51.100.0/24
    }
    virtual_rules {
        from 192.0.2.100/32 table 100 priority 10
        to 203.0.113.0/24 table main iif eth0
    }
    track_script {
        chk
    }
    track_file {
        tf
        tf0
    }
    track_interface {
        eth1 weight -10
    }
    preempt_delay 5
}
`

func TestVRRPConfig(t *testing.T) {
	c := parse(t, strings.Replace(baseConf, "nopreempt_placeholder", "", 1))
	in, _ := c.Instance("VI_1")
	got, err := vrrpConfig(c, in)
	if err != nil {
		t.Fatal(err)
	}
	want := vrrp.Config{
		Name: "VI_1", Version: 2, VRID: 51, Priority: 150, AdvertInterval: time.Second,
		PreemptDelay: 5 * time.Second, InitialState: vrrp.StateMaster, Accept: true,
		AuthType: vrrp.AuthSimple, AuthPass: "secret",
		Source: netip.MustParseAddr("192.0.2.1"),
		Addrs:  []netip.Addr{netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("192.0.2.101")},
		Peers:  []netip.Addr{netip.MustParseAddr("192.0.2.2")}, UnicastTTL: vrrp.TTLRange{Min: 0, Max: 255},
		Track: []vrrp.TrackedObject{
			{Name: "script:chk", Weight: -20},
			{Name: "file:tf0"},
			{Name: "iface:eth0"},
			{Name: "iface:eth1", Weight: -10},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(vrrp.Config{}, "OnTransition", "Logger", "Clock"),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("vrrpConfig (-want +got):\n%s", diff)
	}
	if err := (&got).Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestVRRPConfigVariants(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want func(*vrrp.Config) string // returns "" when fine
	}{
		{"v3 nopreempt backup", "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n version 3\n advert_int 0.2\n nopreempt\n virtual_ipaddress {\n 192.0.2.9\n }\n}\n",
			func(c *vrrp.Config) string {
				if c.Version != 3 || !c.NoPreempt || c.AdvertInterval != 200*time.Millisecond || c.InitialState != vrrp.StateBackup {
					return "want v3, nopreempt, 200ms, BACKUP"
				}
				return ""
			}},
		{"owner", "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n priority 255\n virtual_ipaddress {\n 192.0.2.9\n }\n}\n",
			func(c *vrrp.Config) string {
				if c.InitialState != vrrp.StateInit || c.Priority != 255 {
					return "want owner MASTER 255"
				}
				return ""
			}},
		{"ipv6", "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n version 3\n virtual_ipaddress {\n 2001:db8::9/64\n }\n}\n",
			func(c *vrrp.Config) string {
				if len(c.Addrs) != 1 || !c.Addrs[0].Is6() || c.Source.IsValid() {
					return "want one IPv6 address and the source left to the socket (link-local)"
				}
				return ""
			}},
		{"ah", "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n authentication {\n auth_type AH\n auth_pass k\n }\n virtual_ipaddress {\n 192.0.2.9\n }\n}\n",
			func(c *vrrp.Config) string {
				if c.AuthType != vrrp.AuthAH || c.AuthPass != "" {
					return "want AH with the key left to the transport"
				}
				return ""
			}},
		{"dont_track_primary", "vrrp_instance V {\n interface eth0\n virtual_router_id 9\n dont_track_primary\n virtual_ipaddress {\n 192.0.2.9\n }\n}\n",
			func(c *vrrp.Config) string {
				if len(c.Track) != 0 {
					return "want no tracked objects"
				}
				return ""
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parse(t, tt.conf)
			got, err := vrrpConfig(c, &c.Instances[0])
			if err != nil {
				t.Fatal(err)
			}
			if msg := tt.want(&got); msg != "" {
				t.Errorf("%s; got %+v", msg, got)
			}
		})
	}
}

func TestVIPTranslation(t *testing.T) {
	c := parse(t, strings.Replace(baseConf, "nopreempt_placeholder", "", 1))
	in, _ := c.Instance("VI_1")
	addrs, errs := vipAddresses(in)
	if len(errs) != 0 {
		t.Errorf("vipAddresses errors: %v", errs)
	}
	wantA := []vip.Address{
		{Prefix: netip.MustParsePrefix("192.0.2.100/24"), Interface: "eth0", Label: "eth0:vip", Scope: 253, Broadcast: netip.MustParseAddr("192.0.2.255")},
		{Prefix: netip.MustParsePrefix("192.0.2.101/32"), Interface: "eth0"},
		{Prefix: netip.MustParsePrefix("198.51.100.9/24"), Interface: "eth0"},
	}
	cmpAddr := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	cmpPfx := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	if diff := cmp.Diff(wantA, addrs, cmpAddr, cmpPfx); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
	routes, errs := vipRoutes(in)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "blackhole") {
		t.Errorf("vipRoutes errors = %v, want one about the blackhole route", errs)
	}
	wantR := []vip.Route{{Dst: netip.MustParsePrefix("203.0.113.0/24"), Gateway: netip.MustParseAddr("192.0.2.254"), Table: 100, Metric: 5}}
	if diff := cmp.Diff(wantR, routes, cmpAddr, cmpPfx); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	rules, errs := vipRules(in)
	if len(errs) != 0 {
		t.Errorf("vipRules errors: %v", errs)
	}
	wantU := []vip.Rule{
		{From: netip.MustParsePrefix("192.0.2.100/32"), Table: 100, Priority: 10},
		{To: netip.MustParsePrefix("203.0.113.0/24"), Table: 254, Priority: 16384, IifName: "eth0"},
	}
	if diff := cmp.Diff(wantU, rules, cmpAddr, cmpPfx); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
}

func TestAnnouncePolicy(t *testing.T) {
	c := parse(t, "global_defs {\n vrrp_garp_interval 0.01\n}\nvrrp_instance V {\n interface eth0\n virtual_router_id 9\n garp_master_delay 0\n garp_master_repeat 3\n garp_master_refresh 60\n virtual_ipaddress {\n 192.0.2.9\n }\n}\n")
	got := announcePolicy(&c.Global, &c.Instances[0])
	want := vip.AnnouncePolicy{Repeat: 3, Interval: 10 * time.Millisecond, SecondBurstDelay: -1, Refresh: time.Minute, RefreshRepeat: 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("announcePolicy (-want +got):\n%s", diff)
	}
}

func TestNotifyLines(t *testing.T) {
	tests := []struct {
		typ, name, state string
		prio             int
		want             string
	}{
		{"INSTANCE", "VI_1", "MASTER", 150, "INSTANCE \"VI_1\" MASTER 150\n"},
		{"INSTANCE", "VI_1", "BACKUP", 100, "INSTANCE \"VI_1\" BACKUP 100\n"},
		{"GROUP", "G", "FAULT", 0, "GROUP \"G\" FAULT\n"},
	}
	for _, tt := range tests {
		if got := fifoLine(tt.typ, tt.name, tt.state, tt.prio); got != tt.want {
			t.Errorf("fifoLine = %q, want %q", got, tt.want)
		}
		if _, err := testutil.ParseKeepalivedState(tt.want); err != nil {
			t.Errorf("testutil cannot parse %q: %v", tt.want, err)
		}
	}
	n := config.Notify{Script: "/usr/bin/logger -t 'my tag'"}
	got := append(n.Args(), notifyExtra("INSTANCE", "VI_1", "MASTER", 150)...)
	want := []string{"/usr/bin/logger", "-t", "my tag", "INSTANCE", "VI_1", "MASTER", "150"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("notify command (-want +got):\n%s", diff)
	}
}

func TestCredential(t *testing.T) {
	c, err := credential("root", "")
	if err != nil || c.Uid != 0 || c.Gid != 0 {
		t.Errorf("credential(root) = %+v, %v", c, err)
	}
	c, err = credential("0", "0")
	if err != nil || c.Uid != 0 || c.Gid != 0 {
		t.Errorf("credential(0, 0) = %+v, %v", c, err)
	}
	if _, err := credential("no-such-user-kgo", ""); err == nil {
		t.Error("credential of a missing user: no error")
	}
}

const diffBase = `
vrrp_script chk {
    script /bin/true
    interval 1
}
vrrp_sync_group G {
    group {
        S1
        S2
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    priority 100
    virtual_ipaddress {
        192.0.2.10
    }
    track_script {
        chk
    }
}
vrrp_instance B {
    interface eth0
    virtual_router_id 2
    virtual_ipaddress {
        192.0.2.20
    }
}
vrrp_instance S1 {
    interface eth0
    virtual_router_id 3
    virtual_ipaddress {
        192.0.2.30
    }
}
vrrp_instance S2 {
    interface eth0
    virtual_router_id 4
    virtual_ipaddress {
        192.0.2.40
    }
}
`

func TestDiffInstances(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []change
	}{
		{"identical", func(s string) string { return s },
			[]change{{"A", changeKeep}, {"B", changeKeep}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"comments and positions only", func(s string) string { return "# comment\n\n" + s },
			[]change{{"A", changeKeep}, {"B", changeKeep}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"priority", func(s string) string { return strings.Replace(s, "priority 100", "priority 120", 1) },
			[]change{{"A", changeUpdate}, {"B", changeKeep}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"vip added", func(s string) string { return strings.Replace(s, "192.0.2.20\n", "192.0.2.20\n192.0.2.21\n", 1) },
			[]change{{"A", changeKeep}, {"B", changeUpdate}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"tracked script changed", func(s string) string { return strings.Replace(s, "interval 1", "interval 2", 1) },
			[]change{{"A", changeUpdate}, {"B", changeKeep}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"vrid", func(s string) string { return strings.Replace(s, "virtual_router_id 2\n", "virtual_router_id 22\n", 1) },
			[]change{{"A", changeKeep}, {"B", changeRestart}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"interface", func(s string) string {
			return strings.Replace(s, "interface eth0\n    virtual_router_id 2", "interface eth1\n    virtual_router_id 2", 1)
		},
			[]change{{"A", changeKeep}, {"B", changeRestart}, {"S1", changeKeep}, {"S2", changeKeep}}},
		{"removed and added", func(s string) string {
			return strings.Replace(s, "vrrp_instance B {", "vrrp_instance C {", 1)
		},
			[]change{{"A", changeKeep}, {"C", changeAdd}, {"S1", changeKeep}, {"S2", changeKeep}, {"B", changeRemove}}},
		{"sync group member restart restarts the group", func(s string) string {
			return strings.Replace(s, "virtual_router_id 3\n", "virtual_router_id 33\n", 1)
		},
			[]change{{"A", changeKeep}, {"B", changeKeep}, {"S1", changeRestart}, {"S2", changeRestart}}},
		{"sync group member update only", func(s string) string {
			return strings.Replace(s, "192.0.2.40\n", "192.0.2.41\n", 1)
		},
			[]change{{"A", changeKeep}, {"B", changeKeep}, {"S1", changeKeep}, {"S2", changeUpdate}}},
	}
	old := parse(t, diffBase)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := parse(t, tt.edit(diffBase))
			got := expandGroups(old, n, diffInstances(old, n))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpandShort(t *testing.T) {
	got := expandShort([]string{"-nlD", "-f", "x.conf", "--dont-fork", "-i=ab", "-Dz"}, "nlDtPCv")
	want := []string{"-n", "-l", "-D", "-f", "x.conf", "--dont-fork", "-i=ab", "-Dz"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("expandShort (-want +got):\n%s", diff)
	}
}

// TestConfigTestSamples runs -t on keepalived's sample configurations.
func TestConfigTestSamples(t *testing.T) {
	dir := "../../../shared/keepalived-samples"
	files, _ := filepath.Glob(filepath.Join(dir, "keepalived.conf.*"))
	if len(files) == 0 {
		testutil.Skip(t, "no sample configurations in %s", dir)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run([]string{"-t", "-f", f, "-i", "test"}, &out, &errb); code != 0 {
				t.Errorf("exit %d, want 0:\n%s%s", code, out.String(), errb.String())
			}
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if !strings.HasPrefix(l, f+":") {
					t.Errorf("line without position: %q", l)
				}
			}
		})
	}
}

func TestConfigTestErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.conf")
	if err := os.WriteFile(bad, []byte("global_defs {\n}\nvrrp_instance {\n  virtual_router_id 1\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--config-test", "--use-file", bad}, &out, &errb); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out.String(), bad+":3:1: error: ") {
		t.Errorf("output lacks the error position:\n%s", out.String())
	}
	out.Reset()
	if code := run([]string{"-t", "-f", filepath.Join(dir, "missing.conf")}, &out, &errb); code != 1 {
		t.Errorf("missing file: exit %d, want 1", code)
	}
}

func TestMatchProcess(t *testing.T) {
	p := procInfo{comm: "sleep", argv: []string{"/usr/bin/sleep", "1000", "extra-arg"}}
	tests := []struct {
		tp   config.TrackProcess
		want bool
	}{
		{config.TrackProcess{Process: "sleep"}, true},
		{config.TrackProcess{Process: "sleeper"}, false},
		{config.TrackProcess{Process: "/usr/bin/sleep", FullCommand: true}, true},
		{config.TrackProcess{Process: "sleep", FullCommand: true}, false},
		{config.TrackProcess{Process: "sleep", Params: []string{"1000", "extra-arg"}}, true},
		{config.TrackProcess{Process: "sleep", Params: []string{"1000"}}, false},
		{config.TrackProcess{Process: "sleep", Params: []string{"1000"}, ParamMatch: "initial"}, true},
		{config.TrackProcess{Process: "sleep", Params: []string{"1000", "extra"}, ParamMatch: "initial"}, false},
		{config.TrackProcess{Process: "sleep", Params: []string{"1000", "extra"}, ParamMatch: "partial"}, true},
		{config.TrackProcess{Process: "sleep", Params: []string{"10", "extra"}, ParamMatch: "partial"}, false},
	}
	for _, tt := range tests {
		if got := matchProcess(&tt.tp, p); got != tt.want {
			t.Errorf("matchProcess(%+v) = %v, want %v", tt.tp, got, tt.want)
		}
	}
	if long := (config.TrackProcess{Process: "a-very-long-process-name"}); !matchProcess(&long, procInfo{comm: "a-very-long-pro"}) {
		t.Error("names beyond 15 bytes must match the kernel's truncated comm")
	}
}

func TestProcessQuorumAndDelay(t *testing.T) {
	tp := &config.TrackProcess{Quorum: 2, QuorumMax: 3, ForkDelay: time.Second, TermDelay: 2 * time.Second}
	for n, want := range []bool{false, false, true, true, false} {
		if got := processUp(tp, n); got != want {
			t.Errorf("processUp(%d) = %v, want %v", n, got, want)
		}
	}
	t0 := time.Unix(1000, 0)
	s := &procState{up: false}
	steps := []struct {
		at      time.Duration
		raw     bool
		changed bool
		up      bool
	}{
		{0, true, false, false},
		{500 * time.Millisecond, true, false, false},
		{time.Second, true, true, true},
		{2 * time.Second, false, false, true},
		{3 * time.Second, true, false, true}, // flapped back: the down is forgotten
		{4 * time.Second, false, false, true},
		{6 * time.Second, false, true, false},
	}
	for _, st := range steps {
		if got := s.step(tp, st.raw, t0.Add(st.at)); got != st.changed || s.up != st.up {
			t.Errorf("at %v raw %v: changed %v up %v, want %v %v", st.at, st.raw, got, s.up, st.changed, st.up)
		}
	}
}
