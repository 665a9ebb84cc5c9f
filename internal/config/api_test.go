package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestSplitCommand(t *testing.T) {
	tests := map[string][]string{
		"/bin/x a  b":              {"/bin/x", "a", "b"},
		"/bin/x 'a b' c":           {"/bin/x", "a b", "c"},
		"  ":                       nil,
		"/bin/sh -c 'echo \"hi\"'": {"/bin/sh", "-c", `echo "hi"`},
		"''":                       {""},
	}
	for in, want := range tests {
		if d := cmp.Diff(want, SplitCommand(in)); d != "" {
			t.Errorf("SplitCommand(%q) (-want +got):\n%s", in, d)
		}
	}
	if got := (Notify{Script: "/bin/n 'x y'"}).Args(); len(got) != 2 || got[1] != "x y" {
		t.Errorf("Args = %q", got)
	}
}

func TestBroadcastAndDefaults(t *testing.T) {
	src := `global_defs {
    default_interface bond0
}
static_ipaddress {
    192.0.2.5/24 brd +
    198.51.100.9/25 brd -
}
vrrp_instance V {
    interface eth3
    virtual_router_id 9
    virtual_ipaddress {
        203.0.113.1/24
    }
}`
	c, warns, err := Parse("b.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	sa := c.StaticAddresses
	if sa[0].Broadcast != netip.MustParseAddr("192.0.2.255") || sa[1].Broadcast != netip.MustParseAddr("198.51.100.0") {
		t.Errorf("broadcast = %v %v", sa[0].Broadcast, sa[1].Broadcast)
	}
	if sa[0].Dev != "bond0" || c.Instances[0].VirtualIPs[0].Dev != "eth3" {
		t.Errorf("dev = %q, %q", sa[0].Dev, c.Instances[0].VirtualIPs[0].Dev)
	}
	if got := c.VirtualServers; got != nil {
		t.Errorf("virtual servers = %v", got)
	}
}

func TestVirtualServerString(t *testing.T) {
	for want, vs := range map[string]VirtualServer{
		"FWM 7":           {FWMark: 7},
		"[G]":             {Group: "G"},
		"192.0.2.1:80":    {Addr: netip.MustParseAddr("192.0.2.1"), Port: 80},
		"[2001:db8::1]:0": {Addr: netip.MustParseAddr("2001:db8::1")},
	} {
		if got := vs.String(); got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
	}
}

func TestLookups(t *testing.T) {
	c, _, err := ParseFile("testdata/full.conf", fixtureOpts())
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := c.Script("chk"); !ok || s.Rise != 3 {
		t.Errorf("Script(chk) = %+v, %v", s, ok)
	}
	if _, ok := c.Script("nope"); ok {
		t.Error("Script(nope) found")
	}
	if p, ok := c.TrackProcess("proc"); !ok || p.Process != "nginx" {
		t.Errorf("TrackProcess = %+v", p)
	}
	if i, ok := c.Instance("VI_2"); !ok || i.VRID != 2 || i.IPv6() {
		t.Errorf("Instance(VI_2) = %+v", i)
	}
	if g, ok := c.SyncGroupOf("VI_2"); !ok || g.Name != "SG" {
		t.Errorf("SyncGroupOf = %+v", g)
	}
	if _, ok := c.SyncGroupOf("VI_9"); ok {
		t.Error("SyncGroupOf(VI_9) found")
	}
	if g, ok := c.VirtualServerGroup("V6G"); !ok || len(g.Entries) != 2 {
		t.Errorf("VirtualServerGroup = %+v", g)
	}
	b, _, err := ParseFile("testdata/bfd.conf", fixtureOpts())
	if err != nil {
		t.Fatal(err)
	}
	if x, ok := b.BFDInstance("bfd6"); !ok || x.TTL != 250 || !x.Passive {
		t.Errorf("BFDInstance = %+v", x)
	}
	if f, ok := b.TrackFile("tf"); !ok || f.InitValue != 3 {
		t.Errorf("TrackFile = %+v", f)
	}
}

func TestPrintAndNotify(t *testing.T) {
	c, _, err := ParseFile("testdata/unicast_v3.conf", fixtureOpts())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Print(&b, c); err != nil || b.String() != string(Format(c)) {
		t.Errorf("Print = %v", err)
	}
	if !(Notify{}).IsZero() || c.Instances[0].NotifyMaster.IsZero() {
		t.Error("IsZero")
	}
	if n := c.Instances[0].NotifyMaster; n.User != "root" || n.Group != "root" {
		t.Errorf("notify_master = %+v", n)
	}
}

func TestIncludeCheckOptions(t *testing.T) {
	fsys := fstest.MapFS{
		"k.conf": {Data: []byte("include_check +match -wildcard_match brace_match\ninclude none/*.conf\ninclude missing.conf\ninclude_check -readable -match -brace_match\ninclude missing2.conf\n")},
	}
	_, warns, err := ParseFile("/k.conf", Options{FS: fsys, ConfigID: "x"})
	var el ErrorList
	if !errors.As(err, &el) || len(el) != 1 || !strings.Contains(el[0].Error(), `"/missing.conf": no such file`) {
		t.Errorf("err = %v", err)
	}
	if len(warns) != 2 || !strings.Contains(warns[0].String(), `/k.conf:2:1: include "/none/*.conf": config files missing`) ||
		!strings.Contains(warns[1].String(), "missing2.conf") {
		t.Errorf("warnings = %v", warns)
	}
}

func TestLVSSyncDaemon(t *testing.T) {
	src := "global_defs {\n lvs_sync_daemon eth0 VI_1 id 300 port 0 ttl x bogus group nope maxlen\n}\n"
	c, warns, err := Parse("l.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	s := c.Global.LVSSyncDaemon
	if s == nil || s.Interface != "eth0" || s.Instance != "VI_1" || s.SyncID != -1 {
		t.Errorf("lvs_sync_daemon = %+v", s)
	}
	if len(warns) != 6 {
		t.Errorf("warnings = %v", warns)
	}
}

func TestTopLevelGlobals(t *testing.T) {
	c, warns, err := Parse("t.conf", []byte("use_pid_dir\nchild_wait_time 10\nnet_namespace blue\n"), Options{ConfigID: "x"})
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	want := []Directive{{Keyword: "use_pid_dir", Args: []string{}}, {Keyword: "child_wait_time", Args: []string{"10"}}}
	if d := cmp.Diff(want, c.Global.Other, cmpOpts...); d != "" || c.Global.NetNamespace != "blue" {
		t.Errorf("(-want +got):\n%s", d)
	}
	roundTrip(t, c, nil)
}

func TestMcastGroupFamily(t *testing.T) {
	src := `global_defs {
    vrrp_mcast_group4 ff02::12
    vrrp_mcast_group4 192.0.2.1
    vrrp_mcast_group6 224.0.0.18
    vrrp_mcast_group6 2001:db8::1
    vrrp_mcast_group4 224.0.0.99
    vrrp_mcast_group6 ff02::99
}`
	c, warns, err := Parse("m.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{
		"m.conf:2:23: vrrp_mcast_group4: ff02::12 is not an IPv4 multicast address",
		"m.conf:3:23: vrrp_mcast_group4: 192.0.2.1 is not an IPv4 multicast address",
		"m.conf:4:23: vrrp_mcast_group6: 224.0.0.18 is not an IPv6 multicast address",
		"m.conf:5:23: vrrp_mcast_group6: 2001:db8::1 is not an IPv6 multicast address",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("warnings (-want +got):\n%s", d)
	}
	if g := c.Global; g.VRRPMcastGroup4 != netip.MustParseAddr("224.0.0.99") || g.VRRPMcastGroup6 != netip.MustParseAddr("ff02::99") {
		t.Errorf("groups = %v, %v", g.VRRPMcastGroup4, g.VRRPMcastGroup6)
	}
}

// A rejected instance count or version inherits the global value, as if it were left
// out, and the configuration prints and reparses to the same values (a 0
// left behind was printed as nothing and reparsed as the global value).
func TestInstanceRejectedCountInherits(t *testing.T) {
	src := `global_defs {
    vrrp_down_timer_adverts 5
    vrrp_garp_master_repeat 4
}
vrrp_instance V {
    interface eth0
    virtual_router_id 9
    virtual_ipaddress {
        192.0.2.9/24
    }
    down_timer_adverts d
    garp_master_repeat x
    garp_master_refresh_repeat -1
    version 7
}`
	c, warns, err := Parse("r.conf", []byte(src), Options{ConfigID: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 4 {
		t.Errorf("warnings = %v; want 4 (one per rejected value)", warns)
	}
	i := c.Instances[0]
	if i.Version != 2 {
		t.Errorf("version %d; want 2 (the global default)", i.Version)
	}
	if i.DownTimerAdverts != 5 || i.GarpMasterRepeat != 4 || i.GarpMasterRefreshRepeat != 1 {
		t.Errorf("down_timer_adverts %d, garp_master_repeat %d, garp_master_refresh_repeat %d; want 5, 4, 1",
			i.DownTimerAdverts, i.GarpMasterRepeat, i.GarpMasterRefreshRepeat)
	}
	roundTrip(t, c, warns)
}
