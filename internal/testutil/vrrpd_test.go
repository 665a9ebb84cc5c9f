package testutil_test

import (
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestInteropVRRPD runs FRR vrrpd (priority 150) against keepalived
// (priority 100): vrrpd becomes Master, keepalived takes over when vrrpd is
// killed.
func TestInteropVRRPD(t *testing.T) {
	testutil.RequireCommand(t, "keepalived")
	a, b := testutil.NewPair(t)
	const vip = "192.0.2.100"
	v := testutil.StartVRRPD(t, a, "interface eth0\n vrrp 5 version 3\n vrrp 5 priority 150\n vrrp 5 advertisement-interval 100\n vrrp 5 ip "+vip+"\n!\n",
		testutil.VRRPDMacvlan{Parent: "eth0", VRID: 5, Addrs: []string{vip + "/24"}})
	k := testutil.StartKeepalived(t, b, `vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 5
    priority 100
    advert_int 0.1
    virtual_ipaddress {
        `+vip+`/24
    }
}
global_defs {
    vrrp_version 3
}
`, testutil.KeepalivedOptions{})
	v.WaitState(t, 5, false, "Master", 15*time.Second)
	k.WaitState(t, "VI_1", "BACKUP", 10*time.Second)
	rs, err := v.Routers()
	if err != nil || len(rs) != 1 || rs[0].V4.EffectivePriority != 150 || rs[0].Version != 3 {
		t.Errorf("Routers() = %+v, %v; want one v3 router with priority 150", rs, err)
	}
	v.KillVRRPD()
	k.WaitState(t, "VI_1", "MASTER", 10*time.Second)
}
