package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// vipSampler reads eth0's IPv4 addresses in a namespace through one
// netlink handle (no process per sample, so 10 ms sampling is possible).
type vipSampler struct {
	t    *testing.T
	h    *netlink.Handle
	link netlink.Link
}

func newVIPSampler(t *testing.T, ns *testutil.NetNS) *vipSampler {
	t.Helper()
	h := ns.Handle(t)
	link, err := h.LinkByName("eth0")
	if err != nil {
		t.Fatalf("eth0 in %s: %v", ns, err)
	}
	return &vipSampler{t: t, h: h, link: link}
}

// missing returns those of vips that are not on eth0.
func (s *vipSampler) missing(vips ...string) []string {
	s.t.Helper()
	addrs, err := s.h.AddrList(s.link, netlink.FAMILY_V4)
	if err != nil {
		s.t.Fatalf("address list: %v", err)
	}
	var out []string
	for _, v := range vips {
		found := false
		for _, a := range addrs {
			found = found || a.IP.String() == v
		}
		if !found {
			out = append(out, v)
		}
	}
	return out
}

// sampleResult is what sampling the VIPs and the peer's states saw.
type sampleResult struct {
	samples, missed int      // samples taken, samples with a VIP missing
	firstMiss       []string // the VIPs missing in the first bad sample
	peerStates      []testutil.KeepalivedState
}

// sampleVIPs checks every 10 ms for d that vips are on eth0, and collects
// every state line of the peer keepalived meanwhile.
func sampleVIPs(s *vipSampler, k *testutil.Keepalived, d time.Duration, vips ...string) sampleResult {
	var r sampleResult
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	end := time.After(d)
	for {
		select {
		case st := <-k.States():
			r.peerStates = append(r.peerStates, st)
		case <-tick.C:
			r.samples++
			if m := s.missing(vips...); len(m) > 0 {
				if r.missed == 0 {
					r.firstMiss = m
				}
				r.missed++
			}
		case <-end:
			return r
		}
	}
}

// TestInteropReloadTruncated: keepalived-go is MASTER of VI_1 and VI_2
// (one VIP each) against real keepalived as BACKUP; the config file is
// overwritten with a copy cut after VI_1's priority line (an editor crash)
// and SIGHUP is sent. The reload is refused: for 3 s, sampled every 10 ms,
// both VIPs stay on our side, we send no priority-0 advert and keep
// advertising both VRIDs at our priority, the peer never becomes MASTER
// nor sends an advert, our instances make no transition, the refusal is
// logged with file:line:col and counted in
// keepalived_go_config_reload_refused_total. A clean file afterwards is
// applied again.
func TestInteropReloadTruncated(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	const metricsAddr = "127.0.0.1:9650" // loopback of our namespace
	ours := startDaemonArgs(t, a, bin, fmt.Sprintf(twoVIPsConf, 150, 150), "--metrics-addr", metricsAddr)
	waitAllStates(t, ours.states, "MASTER", 20*time.Second, "VI_1", "VI_2")
	// the peer starts once we are MASTER, so it never has a reason to be
	// MASTER itself: it enters BACKUP (init) and must stay there
	k := testutil.StartKeepalived(t, b, strings.Replace(fmt.Sprintf(twoVIPsConf, 100, 100), "    notify_fifo NOTIFY_FIFO\n", "", 1), testutil.KeepalivedOptions{})
	waitAllStates(t, k.States(), "BACKUP", 20*time.Second, "VI_1", "VI_2")
	vips := []string{"192.0.2.100", "192.0.2.101"}
	sampler := newVIPSampler(t, a)
	// the VIPs are added right after the MASTER line: bounded wait
	deadline := time.Now().Add(5 * time.Second)
	for len(sampler.missing(vips...)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("VIPs %v missing on our side after MASTER", sampler.missing(vips...))
		}
		time.Sleep(10 * time.Millisecond)
	}

	capture := testutil.StartCapture(t, b, "eth0", "ip proto 112")
	full := strings.ReplaceAll(fmt.Sprintf(twoVIPsConf, 150, 150), "NOTIFY_FIFO", filepath.Join(ours.dir, "fifo"))
	ours.writeConf(cutAfterPriority(full))
	ours.signal(syscall.SIGHUP)
	// Adverts are 1 s apart, so the peer's master down interval is 3.6 s
	// (3 × 1 s + skew 0.61 s): a daemon stalled by load for less than that
	// does not make the peer take over, while a reload that stopped an
	// instance sends a priority-0 advert, after which the peer takes over
	// within its skew time (0.61 s), inside these 3 s. A VIP removed shows
	// in the samples at once.
	r := sampleVIPs(sampler, k, 3*time.Second, vips...)
	t.Logf("%d samples in 3 s, %d with a VIP missing", r.samples, r.missed)
	if r.missed > 0 {
		t.Errorf("a VIP was missing in %d of %d samples (first: %v)", r.missed, r.samples, r.firstMiss)
	}
	if r.samples < 30 {
		// even on a loaded machine a netlink dump takes far less than 100 ms
		t.Errorf("only %d samples in 3 s: sampling too coarse to show anything", r.samples)
	}
	for _, st := range r.peerStates {
		t.Errorf("peer changed state during the refused reload: %s %s", st.Instance, st.State)
	}
	select {
	case st := <-ours.states:
		t.Errorf("our instance changed state on a refused reload: %s %s %d", st.Instance, st.State, st.Priority)
	default:
	}
	if !ours.alive() {
		t.Fatal("daemon exited on a damaged config")
	}

	pcap := capture.Stop()
	perVRID := map[string]int{} // our adverts at priority 150, by VRID
	var peerAdverts, prio0, otherPrio []string
	for _, row := range testutil.TsharkFields(t, pcap, "ip.src", "vrrp.virt_rtr_id", "vrrp.prio") {
		switch {
		case row[0] != "192.0.2.1":
			peerAdverts = append(peerAdverts, row[1])
		case row[2] == "0":
			prio0 = append(prio0, row[1])
		case row[2] != "150":
			otherPrio = append(otherPrio, row[1]+"@"+row[2])
		default:
			perVRID[row[1]]++
		}
	}
	if len(peerAdverts) > 0 {
		t.Errorf("the peer sent %d adverts as MASTER (vrids %v)", len(peerAdverts), peerAdverts)
	}
	if len(prio0) > 0 {
		t.Errorf("we sent %d priority-0 adverts (vrids %v): an instance was stopped", len(prio0), prio0)
	}
	if len(otherPrio) > 0 {
		t.Errorf("we advertised another priority than 150 (vrid@prio %v)", otherPrio)
	}
	// one advert a second per instance for over 3 s; 2 each leaves room
	// for a capture that starts late
	for _, vrid := range []string{"51", "52"} {
		if perVRID[vrid] < 2 {
			t.Errorf("only %d adverts for vrid %s during the refused reload (%v)", perVRID[vrid], vrid, perVRID)
		}
	}
	t.Logf("our adverts during the refused reload by vrid: %v", perVRID)

	logb, err := os.ReadFile(ours.log)
	if err != nil {
		t.Fatal(err)
	}
	pos := regexp.QuoteMeta(ours.conf) + `:5:1: block \\?"vrrp_instance\\?" is not closed`
	if !regexp.MustCompile(pos).Match(logb) {
		t.Errorf("log lacks the unclosed block of VI_1 at %s:5:1", ours.conf)
	}
	if !strings.Contains(string(logb), "reload refused") {
		t.Error("log lacks the refusal")
	}
	if m := scrape(t, a, metricsAddr); !strings.Contains(m, "\nkeepalived_go_config_reload_refused_total 1\n") {
		t.Errorf("metrics lack keepalived_go_config_reload_refused_total 1:\n%s", grepLines(m, "reload"))
	}

	// the clean file is applied again: VI_2 at a new priority, VI_1 kept
	ours.writeConf(strings.Replace(full, "priority 150\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.101", "priority 160\n    advert_int 1\n    virtual_ipaddress {\n        192.0.2.101", 1))
	ours.signal(syscall.SIGHUP)
	waitMetric(t, a, metricsAddr, `keepalived_reloads_total{result="ok"} 1`, 10*time.Second)
	if m := sampler.missing(vips...); len(m) > 0 {
		t.Errorf("VIPs %v missing after a clean reload", m)
	}
	if m := scrape(t, a, metricsAddr); !strings.Contains(m, "\nkeepalived_go_config_reload_refused_total 1\n") {
		t.Errorf("a clean reload changed the refusal count:\n%s", grepLines(m, "reload"))
	}
}

// waitAllStates reads state lines from states until each of names has
// reached state; any other line fails the test (nothing else is expected
// while a pair settles).
func waitAllStates(t *testing.T, states <-chan testutil.KeepalivedState, state string, timeout time.Duration, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deadline := time.After(timeout)
	for len(want) > 0 {
		select {
		case st := <-states:
			t.Logf("%s %s %d", st.Instance, st.State, st.Priority)
			switch {
			case st.State == state:
				delete(want, st.Instance)
			case st.State != "BACKUP": // the initial state of every instance
				t.Fatalf("%s entered %s while waiting for %s", st.Instance, st.State, state)
			}
		case <-deadline:
			t.Fatalf("%v did not reach %s within %v", want, state, timeout)
		}
	}
}

// waitMetric scrapes until a line of the metrics equals line.
func waitMetric(t *testing.T, ns *testutil.NetNS, addr, line string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := scrape(t, ns, addr)
		if strings.Contains(m, "\n"+line+"\n") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %q not seen within %v:\n%s", line, timeout, grepLines(m, "reload"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for l := range strings.SplitSeq(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
