package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// oneInstanceConf is VI_1 with two VIPs. (One instance: stopping a daemon
// with two instances on one socket races in daemon.shutdown, see the
// report of this change; this test stops the first daemon with SIGTERM.)
const oneInstanceConf = `global_defs {
    notify_fifo NOTIFY_FIFO
    vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24
    }
}
`

// TestInteropSecondDaemon: keepalived-go is MASTER of VI_1 (two VIPs)
// against real keepalived as BACKUP. A second keepalived-go with the same pid file
// (and the same metrics address, so it would fail at start-up anyway)
// refuses to start with "daemon is already running" and the first one's
// pid, exit status exitAlreadyRunning, before it runs any instance; for the
// first one nothing changes: the VIPs stay (sampled every 10 ms for 3 s),
// the pid file keeps its pid, the peer stays BACKUP, every advert on the
// wire is the first one's at priority 150. On SIGTERM the first removes its
// pid file.
func TestInteropSecondDaemon(t *testing.T) {
	requireInterop(t)
	bin := buildDaemon(t)
	a, b := testutil.NewPair(t)
	pidPath := filepath.Join(t.TempDir(), "keepalived.pid")
	const metricsAddr = "127.0.0.1:9650" // loopback of our namespace
	first := startDaemonArgs(t, a, bin, fmt.Sprintf(oneInstanceConf, 150), "-p", pidPath, "--metrics-addr", metricsAddr)
	waitAllStates(t, first.states, "MASTER", 20*time.Second, "VI_1")
	k := testutil.StartKeepalived(t, b, strings.Replace(fmt.Sprintf(oneInstanceConf, 100), "    notify_fifo NOTIFY_FIFO\n", "", 1), testutil.KeepalivedOptions{})
	waitAllStates(t, k.States(), "BACKUP", 20*time.Second, "VI_1")
	vips := []string{"192.0.2.100", "192.0.2.101"}
	sampler := newVIPSampler(t, a)
	deadline := time.Now().Add(5 * time.Second)
	for len(sampler.missing(vips...)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("VIPs %v missing on our side after MASTER", sampler.missing(vips...))
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantPid := strconv.Itoa(first.cmd.Process.Pid) + "\n" // ip netns exec execs the daemon
	if got := readFile(t, pidPath); got != wantPid {
		t.Fatalf("pid file = %q, want %q", got, wantPid)
	}

	capture := testutil.StartCapture(t, b, "eth0", "ip proto 112")
	started := time.Now()
	second := startDaemonArgs(t, a, bin, fmt.Sprintf(oneInstanceConf, 150), "-p", pidPath, "--metrics-addr", metricsAddr)
	second.waitExit(30 * time.Second)
	t.Logf("second daemon exited after %v", time.Since(started))
	if code := second.cmd.ProcessState.ExitCode(); code != exitAlreadyRunning {
		t.Errorf("second daemon exit status %d, want %d", code, exitAlreadyRunning)
	}
	logb, err := os.ReadFile(second.log)
	if err != nil {
		t.Fatal(err)
	}
	if want := `msg="daemon is already running" pid=` + strings.TrimSpace(wantPid); !strings.Contains(string(logb), want) {
		t.Errorf("second daemon's log lacks %q:\n%s", want, logb)
	}
	select {
	case st := <-second.states:
		t.Errorf("the second daemon ran an instance: %s %s %d", st.Instance, st.State, st.Priority)
	default:
	}

	// 3 s: 3 of our adverts; a second daemon that ran an instance would
	// have sent its BACKUP line at once, and one that removed a VIP (or the
	// pid file) would show in the samples.
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
		t.Errorf("peer changed state: %s %s", st.Instance, st.State)
	}
	select {
	case st := <-first.states:
		t.Errorf("the first daemon changed state: %s %s %d", st.Instance, st.State, st.Priority)
	default:
	}
	if !first.alive() {
		t.Fatal("the first daemon exited")
	}
	if got := readFile(t, pidPath); got != wantPid {
		t.Errorf("pid file = %q after the second daemon, want %q", got, wantPid)
	}
	if m := scrape(t, a, metricsAddr); !strings.Contains(m, "keepalived_vrrp_state{") {
		t.Errorf("the first daemon's metrics are gone:\n%s", m)
	}
	pcap := capture.Stop()
	perVRID := map[string]int{}
	for _, row := range testutil.TsharkFields(t, pcap, "ip.src", "vrrp.virt_rtr_id", "vrrp.prio") {
		if row[0] != "192.0.2.1" || row[2] != "150" {
			t.Errorf("advert from %s vrid %s priority %s; want only ours at 150", row[0], row[1], row[2])
			continue
		}
		perVRID[row[1]]++
	}
	t.Logf("adverts by vrid while the second daemon ran: %v", perVRID)
	// one advert a second for over 3 s; 2 leaves room for a late capture
	if perVRID["51"] < 2 {
		t.Errorf("only %d adverts for vrid 51 in 3 s (%v)", perVRID["51"], perVRID)
	}

	first.signal(syscall.SIGTERM)
	first.waitExit(15 * time.Second)
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("first daemon exit status %d after SIGTERM, want 0", code)
	}
	if got := readFile(t, pidPath); got != "<absent>" {
		t.Errorf("pid file = %q after the first daemon stopped, want it removed", got)
	}
}
