package testutil_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

func TestParseKeepalivedState(t *testing.T) {
	for _, tc := range []struct {
		line    string
		want    testutil.KeepalivedState
		wantErr bool
	}{
		{line: `INSTANCE "VI_1" MASTER 150`, want: testutil.KeepalivedState{Type: "INSTANCE", Instance: "VI_1", State: "MASTER", Priority: 150}},
		{line: `INSTANCE "VI 2" BACKUP 100` + "\n", want: testutil.KeepalivedState{Type: "INSTANCE", Instance: "VI 2", State: "BACKUP", Priority: 100}},
		{line: `GROUP "G1" FAULT`, want: testutil.KeepalivedState{Type: "GROUP", Instance: "G1", State: "FAULT"}},
		{line: `INSTANCE VI_1 MASTER 150`, wantErr: true},
		{line: `INSTANCE "VI_1 MASTER`, wantErr: true},
		{line: `INSTANCE "VI_1" MASTER x`, wantErr: true},
		{line: `INSTANCE "VI_1"`, wantErr: true},
		{line: ``, wantErr: true},
	} {
		got, err := testutil.ParseKeepalivedState(tc.line)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseKeepalivedState(%q) error = %v, want error %v", tc.line, err, tc.wantErr)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.IgnoreFields(testutil.KeepalivedState{}, "At")); !tc.wantErr && diff != "" {
			t.Errorf("ParseKeepalivedState(%q) (-want +got):\n%s", tc.line, diff)
		}
	}
}

func FuzzParseKeepalivedState(f *testing.F) {
	f.Add(`INSTANCE "VI_1" MASTER 150`)
	f.Add(`GROUP "G" BACKUP`)
	f.Add(`INSTANCE "`)
	f.Fuzz(func(t *testing.T, line string) {
		_, _ = testutil.ParseKeepalivedState(line)
	})
}

func keepalivedConf(router string, prio int, vip string) string {
	return fmt.Sprintf(`global_defs {
    router_id %s
    vrrp_version 3
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority %d
    advert_int 0.1
    virtual_ipaddress {
        %s
    }
}
`, router, prio, vip)
}

// TestInteropKeepalivedPair runs two keepalived in a pair: the higher
// priority becomes MASTER (seen on notify_fifo) and owns the VIP; killing it
// leaves nothing behind and the other takes over.
func TestInteropKeepalivedPair(t *testing.T) {
	testutil.RequireCommand(t, "keepalived")
	a, b := testutil.NewPair(t)
	const vip = "192.0.2.100"
	ka := testutil.StartKeepalived(t, a, keepalivedConf("A", 150, vip+"/24"), testutil.KeepalivedOptions{})
	kb := testutil.StartKeepalived(t, b, keepalivedConf("B", 100, vip+"/24"), testutil.KeepalivedOptions{})
	st := ka.WaitState(t, "VI_1", "MASTER", 10*time.Second)
	if st.Priority != 150 || st.At.IsZero() {
		t.Errorf("A's MASTER state = %+v, want priority 150 and a time", st)
	}
	kb.WaitState(t, "VI_1", "BACKUP", 10*time.Second)
	// keepalived may report MASTER just before it adds the VIP.
	waitAddr(t, a, vip, true)
	if n := len(ka.PIDs()); n != 2 {
		t.Errorf("PIDs() = %v, want parent and VRRP child", ka.PIDs())
	}
	ka.Kill()
	if out := a.Run(t, "ip", "-4", "addr", "show", "dev", "eth0"); strings.Contains(out, vip) {
		t.Errorf("VIP left on A after Kill:\n%s", out)
	}
	kb.WaitState(t, "VI_1", "MASTER", 10*time.Second)
	waitAddr(t, b, vip, true)
	kb.Stop()
	if out := b.Run(t, "ip", "-4", "addr", "show", "dev", "eth0"); strings.Contains(out, vip) {
		t.Errorf("VIP left on B after Stop:\n%s", out)
	}
	// The channel is closed once keepalived has stopped.
	for range kb.States() {
	}
}

// waitAddr waits (at most 5 s) until addr is present on (or absent from)
// the namespace's interfaces.
func waitAddr(t *testing.T, ns *testutil.NetNS, addr string, present bool) {
	t.Helper()
	var out string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		out = ns.Run(t, "ip", "-o", "addr", "show")
		if strings.Contains(out, " "+addr+"/") == present {
			return
		}
	}
	t.Fatalf("address %s present=%v never true in %s:\n%s", addr, present, ns.Name, out)
}

// TestInteropKeepalivedVMAC checks that Kill removes the VMAC interface a
// killed keepalived leaves behind.
func TestInteropKeepalivedVMAC(t *testing.T) {
	testutil.RequireCommand(t, "keepalived")
	a, _ := testutil.NewPair(t)
	conf := strings.Replace(keepalivedConf("A", 255, "192.0.2.100/24"), "advert_int 0.1",
		"advert_int 0.1\n    use_vmac vrrp.51\n    vmac_xmit_base", 1)
	ka := testutil.StartKeepalived(t, a, conf, testutil.KeepalivedOptions{})
	ka.WaitState(t, "VI_1", "MASTER", 10*time.Second)
	waitAddr(t, a, "192.0.2.100", true)
	if out := a.Run(t, "ip", "link", "show"); !strings.Contains(out, "vrrp.51") {
		t.Fatalf("no VMAC interface while MASTER:\n%s", out)
	}
	ka.Kill()
	if out := a.Run(t, "ip", "-o", "link", "show"); strings.Contains(out, "vrrp.51") {
		t.Errorf("VMAC interface left after Kill:\n%s", out)
	}
	if out := a.Run(t, "ip", "-o", "addr", "show"); strings.Contains(out, "192.0.2.100") {
		t.Errorf("VIP left after Kill:\n%s", out)
	}
}
