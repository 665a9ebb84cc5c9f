package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// VRRPDMacvlan is a macvlan interface FRR vrrpd needs for one virtual router
// (it does not create them itself): on Parent, with the virtual MAC
// 00:00:5e:00:01:VRID (00:00:5e:00:02:VRID for IPv6) and Addrs on it.
type VRRPDMacvlan struct {
	Parent string   // parent interface, e.g. "eth0"
	VRID   uint8    // virtual router ID
	IPv6   bool     // the IPv6 virtual router's MAC instead of the IPv4 one
	Addrs  []string // prefixes to add, e.g. "192.0.2.100/24"
}

// VRRPDRouter is one virtual router from FRR's "show vrrp json".
type VRRPDRouter struct {
	VRID                  int         `json:"vrid"`
	Version               int         `json:"version"`
	Interface             string      `json:"interface"`
	Shutdown              bool        `json:"shutdown"`
	PreemptMode           bool        `json:"preemptMode"`
	AcceptMode            bool        `json:"acceptMode"`
	AdvertisementInterval int         `json:"advertisementInterval"` // ms
	V4                    VRRPDFamily `json:"v4"`
	V6                    VRRPDFamily `json:"v6"`
}

// VRRPDFamily is the IPv4 or IPv6 half of a [VRRPDRouter].
type VRRPDFamily struct {
	Interface          string   `json:"interface"` // the macvlan
	VMAC               string   `json:"vmac"`
	PrimaryAddress     string   `json:"primaryAddress"`
	Status             string   `json:"status"` // "Initialize", "Backup", "Master"
	EffectivePriority  int      `json:"effectivePriority"`
	MasterDownInterval int      `json:"masterDownInterval"` // ms
	Addresses          []string `json:"addresses"`
}

// VRRPD is FRR's zebra and vrrpd running in a namespace, started by
// [StartVRRPD].
type VRRPD struct {
	// Dir is the private directory (mode 0777: FRR runs as user frr).
	Dir string

	t     testing.TB
	ns    *NetNS
	vtysh string
	zebra *daemon
	vrrpd *daemon
}

// StartVRRPD creates the macvlans, then runs FRR zebra and vrrpd with conf
// (vrrpd syntax, e.g. "interface eth0\n vrrp 5 version 3\n vrrp 5 priority
// 150\n vrrp 5 ip 192.0.2.100\n!") inside ns with private pid files and
// sockets. It returns once vrrpd answers on its vty socket. Cleanup kills
// both and prints their logs if the test failed; the macvlans go with the
// namespace.
func StartVRRPD(t testing.TB, ns *NetNS, conf string, macvlans ...VRRPDMacvlan) *VRRPD {
	t.Helper()
	for _, d := range []string{"zebra", "vrrpd"} {
		if _, err := os.Stat(filepath.Join(frrDir, d)); err != nil {
			Skip(t, "FRR %s not installed (%v); make deps installs frr", d, err)
			return nil
		}
	}
	v := &VRRPD{t: t, ns: ns, vtysh: RequireCommand(t, "vtysh")}
	for i, m := range macvlans {
		family, macFamily := 4, 1 // RFC 5798 §7.3: 00-00-5E-00-01-{VRID} for IPv4
		if m.IPv6 {
			family, macFamily = 6, 2 // 00-00-5E-00-02-{VRID} for IPv6
		}
		name := fmt.Sprintf("vrrp%d-%d-%d", family, m.VRID, i)
		mac := fmt.Sprintf("00:00:5e:00:%02x:%02x", macFamily, m.VRID)
		ns.ip(t, "link", "add", name, "link", m.Parent, "type", "macvlan", "mode", "bridge")
		ns.ip(t, "link", "set", name, "address", mac)
		ns.sysctl(t, "net.ipv6.conf."+name+".accept_dad", "0")
		for _, a := range m.Addrs {
			ns.ip(t, "addr", "add", a, "dev", name)
		}
		ns.ip(t, "link", "set", name, "up")
	}
	v.Dir = frrTempDir(t, "kgo-vrrpd-")
	t.Cleanup(func() {
		v.Kill()
		if t.Failed() {
			for _, d := range []*daemon{v.vrrpd, v.zebra} {
				if d != nil {
					t.Logf("FRR %s in %s log:\n%s", d.name, ns.Name, d.logText())
				}
			}
			t.Logf("vrrpd config:\n%s", conf)
		}
	})
	zserv := filepath.Join(v.Dir, "zserv.api")
	v.zebra = startFRR(t, ns, v.Dir, "zebra", "")
	if !waitFor(daemonStartTimeout, v.zebra.exited, func() bool { _, err := os.Stat(zserv); return err == nil }) {
		t.Fatalf("testutil: FRR zebra in %s did not create %s", ns.Name, zserv)
	}
	v.vrrpd = startFRR(t, ns, v.Dir, "vrrpd", conf)
	if !waitFor(daemonStartTimeout, v.vrrpd.exited, func() bool { _, err := v.Vtysh("show vrrp json"); return err == nil }) {
		t.Fatalf("testutil: FRR vrrpd in %s not answering on its vty socket", ns.Name)
	}
	return v
}

// Vtysh runs one vtysh command against vrrpd and returns its output.
func (v *VRRPD) Vtysh(command string) (string, error) {
	return vtysh(v.vtysh, v.Dir, "vrrpd", command)
}

// Routers returns vrrpd's virtual routers ("show vrrp json").
func (v *VRRPD) Routers() ([]VRRPDRouter, error) {
	return vtyshJSON[[]VRRPDRouter](v.vtysh, v.Dir, "vrrpd", "show vrrp json")
}

// WaitState polls until virtual router vrid's IPv4 (or, with ipv6, IPv6)
// status is state ("Master", "Backup"), and fails the test after timeout.
func (v *VRRPD) WaitState(t testing.TB, vrid int, ipv6 bool, state string, timeout time.Duration) {
	t.Helper()
	var last []VRRPDRouter
	var lastErr error
	if waitFor(timeout, nil, func() bool {
		last, lastErr = v.Routers()
		for _, r := range last {
			if r.VRID == vrid && ((!ipv6 && r.V4.Status == state) || (ipv6 && r.V6.Status == state)) {
				return true
			}
		}
		return false
	}) {
		return
	}
	t.Fatalf("testutil: FRR vrrpd in %s: vrid %d not %s within %v; last %+v (err %v)", v.ns.Name, vrid, state, timeout, last, lastErr)
}

// KillVRRPD SIGKILLs vrrpd only (zebra keeps running).
func (v *VRRPD) KillVRRPD() { v.vrrpd.kill(v.t, v.ns) }

// Kill SIGKILLs vrrpd, then zebra, and waits until both have exited.
func (v *VRRPD) Kill() {
	if v.vrrpd != nil {
		v.vrrpd.kill(v.t, v.ns)
	}
	if v.zebra != nil {
		v.zebra.kill(v.t, v.ns)
	}
}
