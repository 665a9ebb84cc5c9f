package config

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// samplesDir is keepalived's own sample directory, beside the checkout.
const samplesDir = "../../../shared/keepalived-samples"

// sampleWant lists, per sample, the warnings keepalived itself gives
// (checked with keepalived 2.2.7 -t, leaving out "interface doesn't exist",
// which depends on the host) as "line:substring".
var sampleWant = map[string][]string{
	"keepalived.conf.SSL_GET":          {"13:incompatible with AH authentication"},
	"keepalived.conf.conditional_conf": {"13:no script set for vrrp_script check_VI_0", "25:track script check_VI_0 not found"},
	"keepalived.conf.fwmark":           {"7:protocol specified for fwmark"},
	"keepalived.conf.track_interface":  {"31:cannot track route 192.168.112.0/24"},
	"keepalived.conf.vrrp.lvs_syncd": {
		"4:unknown keyword 'VI_2'", "5:unknown keyword 'VI_3'",
		"11:lvs_sync_daemon_interface against a vrrp is deprecated",
	},
	"keepalived.conf.vrrp.routes": {
		"29:cannot track route 192.168.112.0/24", `30:"or" for routes is deprecated`,
		"30:cannot track route 192.168.113.0/24", "31:cannot track route 192.168.113.1/32",
		`32:"gw" for routes is deprecated`, "32:cannot track route 0.0.0.0/0",
	},
	"keepalived.conf.vrrp.rules": {
		"10:no preference specified, setting to 16384", "11:invalid rule to address 192.168.100./24",
		"25:no preference specified, setting to 16383", "26:invalid rule to address 192.168.200./24",
	},
	"keepalived.conf.vrrp.static_ipaddress": {"25:cannot track route 192.168.112.0/24"},
	// a systemd drop-in, not a keepalived.conf: keepalived reads it as one
	"keepalived.service.d.auth_hmac.conf": {
		`5:unknown keyword '\'`, `13:unknown keyword '\'`, "30:unknown keyword '[Service]'",
		"31:unknown keyword 'LoadCredentialEncrypted=", `50:unknown keyword '\'`,
	},
	// keepalived 2.2.7 also rejects vrrp_garp_interval 0; keepalived.conf(5)
	// of the sample's version documents 0 as the default, so it is accepted.
	"etc/keepalived.conf": {"19:state MASTER must match being address owner", "19:strict mode does not support authentication"},
}

func sampleFiles(t *testing.T) []string {
	t.Helper()
	if _, err := os.Stat(samplesDir); err != nil {
		testutil.Skip(t, "keepalived samples not found at %s (expected shared/ beside the checkout): %v", samplesDir, err)
		return nil
	}
	var files []string
	err := filepath.WalkDir(samplesDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "SOURCE" {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("only %d samples found in %s", len(files), samplesDir)
	}
	return files
}

func sampleKey(path string) string {
	rel, _ := filepath.Rel(samplesDir, path)
	return strings.TrimPrefix(filepath.ToSlash(rel), "extra/")
}

func TestSamples(t *testing.T) {
	for _, f := range sampleFiles(t) {
		key := sampleKey(f)
		t.Run(key, func(t *testing.T) {
			c, warns, err := ParseFile(f, Options{ConfigID: "none"})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			var got []string
			for _, w := range warns {
				got = append(got, fmt.Sprintf("%d:%s", w.Pos.Line, w.Msg))
			}
			want := sampleWant[key]
			if len(got) != len(want) {
				t.Errorf("got %d warnings, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
			}
			for _, w := range want {
				if !slices.ContainsFunc(got, func(g string) bool {
					return strings.HasPrefix(g, w[:strings.IndexByte(w, ':')+1]) && strings.Contains(g, w[strings.IndexByte(w, ':')+1:])
				}) {
					t.Errorf("missing warning %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			roundTrip(t, c, warns)
		})
	}
}

// TestSampleContents spot-checks typed values read from the samples.
func TestSampleContents(t *testing.T) {
	files := sampleFiles(t)
	parse := func(name string, opts Options) *Config {
		t.Helper()
		i := slices.IndexFunc(files, func(f string) bool { return sampleKey(f) == name })
		if i < 0 {
			t.Fatalf("sample %s missing", name)
		}
		c, _, err := ParseFile(files[i], opts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	high := parse("keepalived.conf.conditional_conf", Options{ConfigID: "high"})
	if len(high.Scripts) != 1 || high.Scripts[0].Script != "/etc/keepalived/scripts/check_high_VI_0.sh" || high.Instances[0].Priority != 170 {
		t.Errorf("conditional_conf with id high: %+v %+v", high.Scripts, high.Instances[0].Priority)
	}
	if got := high.Global.NetNamespace; got != "high" {
		t.Errorf("net_namespace = %q, want high", got)
	}
	if high.Instances[0].Version != 3 || !high.Instances[0].UseVMAC || high.Instances[0].AdvertInt.Seconds() != 12 {
		t.Errorf("VI_0: %+v", high.Instances[0])
	}
	vsg := parse("keepalived.conf.virtual_server_group", Options{})
	if g := vsg.VirtualServerGroups[0]; len(g.Entries) != 6 || g.Entries[3].Last.String() != "192.168.200.10" || g.Entries[5].FWMark != 2 {
		t.Errorf("VSG_1 = %+v", g)
	}
	sc := parse("keepalived.conf.status_code", Options{})
	u := sc.VirtualServers[0].RealServers[0].Checkers[0].URLs[0]
	if want := []StatusRange{{200, 299}, {400, 499}, {503, 503}, {505, 505}}; !slices.Equal(u.StatusCodes, want) {
		t.Errorf("status codes %v, want %v", u.StatusCodes, want)
	}
	smtp := parse("keepalived.conf.SMTP_CHECK", Options{})
	cs := smtp.VirtualServers[0].RealServers[2].Checkers
	if len(cs) != 3 || cs[0].HeloName != "foo.bar.com" || cs[2].ConnectPort != 587 || cs[0].BindTo.String() != "172.16.1.2" ||
		cs[2].ConnectIP.String() != "64.233.167.100" || cs[1].ConnectPort != 25 || cs[2].BindTo.IsValid() {
		t.Errorf("SMTP_CHECK hosts = %+v", cs)
	}
	if c := smtp.VirtualServers[0].RealServers[0].Checkers[0]; c.ConnectIP.String() != "172.16.1.10" || c.ConnectPort != 25 {
		t.Errorf("SMTP_CHECK = %+v", c)
	}
	sync := parse("keepalived.conf.vrrp.sync", Options{})
	if len(sync.SyncGroups) != 2 || len(sync.SyncGroups[0].Group) != 7 || sync.SyncGroups[0].NotifyMaster.Script != "/usr/local/bin/vrrp.mast arg1 arg2" {
		t.Errorf("sync groups = %+v", sync.SyncGroups)
	}
	lc := parse("keepalived.conf.vrrp.localcheck", Options{})
	if ti := lc.Instances[0].TrackInterfaces; len(ti) != 3 || ti[1].Weight != -2 || ti[2].Weighted {
		t.Errorf("track_interface = %+v", ti)
	}
	if s := lc.Scripts[0]; s.Weight != -4 || s.Fall != 2 || s.Rise != 2 || s.Interval.Seconds() != 2 || s.Script != "killall -0 sshd" {
		t.Errorf("chk_sshd = %+v", s)
	}
	misc := parse("keepalived.conf.misc_check_arg", Options{})
	if p := misc.VirtualServers[0].RealServers[0].Checkers[0].MiscPath; p != "/usr/local/bin/script.sh arg1 arg2" {
		t.Errorf("misc_path = %q", p)
	}
	q := parse("keepalived.conf.quorum", Options{})
	if vs := q.VirtualServers[0]; vs.Quorum != 7 || vs.Hysteresis != 2 || !vs.Alpha || !vs.Omega || len(vs.RealServers) != 10 || vs.Scheduler != "wrr" {
		t.Errorf("quorum vs = %+v", vs)
	}
	r := parse("keepalived.conf.vrrp.routes", Options{})
	vr := r.Instances[0].VirtualRoutes
	if len(vr) != 7 || vr[0].Src.String() != "192.168.100.1" || vr[4].Nexthops[1].Via.String() != "192.168.100.253" || vr[5].Type != "blackhole" || vr[6].Table != "100" {
		t.Errorf("virtual_routes = %+v", vr)
	}
	if sr := r.StaticRoutes; len(sr) != 5 || sr[3].Scope != "site" {
		t.Errorf("static_routes = %+v", sr)
	}
	st := parse("etc/keepalived.conf", Options{})
	if i := st.Instances[0]; i.State != "BACKUP" || i.Auth != nil || !i.Strict || *i.Accept {
		t.Errorf("strict instance = %+v", i)
	}
	if g := st.Global; len(g.NotificationEmail) != 3 || g.SMTPConnectTimeout.Seconds() != 30 || g.VRRPGarpInterval != 0 {
		t.Errorf("global = %+v", g)
	}
}
