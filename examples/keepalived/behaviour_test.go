package main

// Tests of the daemon's behaviours on the fake system (fakesystem_test.go),
// each inside a testing/synctest bubble: tracking, sync groups, reload
// plans, priority notifications, pending instances, static addresses,
// dumps and metrics. Sleeps move the bubble's virtual clock.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nux-root/keepalived-go/bfd"
)

// vi returns a vrrp_instance block on eth0 with VRID vrid.
func vi(name string, vrid, prio int, extra string) string {
	return `
vrrp_instance ` + name + ` {
    interface eth0
    virtual_router_id ` + itoa(vrid) + `
    priority ` + itoa(prio) + `
    advert_int 1
    virtual_ipaddress {
        192.0.2.` + itoa(vrid) + `/24
    }
` + extra + `
}
`
}

func itoa(n int) string { return strconv.Itoa(n) }

const fifoGlobal = `
global_defs {
    notify_fifo NOTIFY_FIFO
}
`

// settle lets virtual time pass and waits for the bubble to be idle.
func settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// TestTrackInterfaceFake: a tracked interface going down faults the
// instance (its address is removed), and coming back makes it MASTER
// again; the change is logged per instance.
func TestTrackInterfaceFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, fifoGlobal+vi("VI_1", 51, 100, "track_interface {\n eth1\n}"))
		td.run(c)
		settle(5 * time.Second)
		td.f.takeOps()
		td.f.setLink("eth1", false)
		settle(time.Second)
		if got := td.f.ownedAll(); len(got) != 0 {
			t.Errorf("owned while FAULT: %v", got)
		}
		td.f.setLink("eth1", true)
		settle(5 * time.Second)
		td.shutdown()
		want := []string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" FAULT 100`,
			`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" STOP 100`}
		if diff := cmp.Diff(want, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
		if !strings.Contains(td.logText(), `msg="tracked interface" iface=eth1 up=false instance=VI_1`) {
			t.Errorf("log lacks the tracked interface line:\n%s", td.logText())
		}
	})
}

// TestTrackProcessFake: an unweighted track_process faults the instance
// while the process is missing and releases it once a matching process
// runs.
func TestTrackProcessFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, fifoGlobal+`
track_process proc {
    process sleep 3000
    weight 0
}
`+vi("VI_1", 51, 100, "track_process {\n proc\n}"))
		td.run(c)
		settle(5 * time.Second)
		td.f.setProcs(procInfo{comm: "sleep", argv: []string{"sleep", "3000"}}, procInfo{comm: "init", argv: []string{"/sbin/init"}})
		settle(5 * time.Second)
		td.f.setProcs()
		settle(2 * time.Second)
		td.shutdown()
		want := []string{`INSTANCE "VI_1" FAULT 100`, `INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`,
			`INSTANCE "VI_1" FAULT 100`, `INSTANCE "VI_1" STOP 100`}
		if diff := cmp.Diff(want, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
	})
}

// TestTrackFileWeightFake: a weighted track_file moves the base priority
// by value×weight, shared by the two instances that track it, and with
// notify_priority_changes the new priority is notified.
func TestTrackFileWeightFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "tf")
		if err := os.WriteFile(file, []byte("2\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		td, c := newTestDaemon(t, fifoGlobal+`
track_file tf {
    file `+file+`
    weight 10
}
`+vi("VI_1", 51, 100, "notify_priority_changes\ntrack_file {\n tf\n}")+vi("VI_2", 52, 50, "track_file {\n tf weight 5\n}"))
		td.run(c)
		settle(5 * time.Second)
		if err := os.WriteFile(file, []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		settle(2 * time.Second)
		prios := map[string]int{}
		td.call(func(done func()) {
			for _, i := range td.snapshot().Instances {
				prios[i.Name] = i.Priority
			}
			done()
		})
		if diff := cmp.Diff(map[string]int{"VI_1": 100, "VI_2": 50}, prios); diff != "" {
			t.Errorf("priorities after the file went to 0 (-want +got):\n%s", diff)
		}
		td.shutdown()
		var vi1 []string
		for _, l := range td.fifoLines(t) {
			if strings.Contains(l, `"VI_1"`) {
				vi1 = append(vi1, l)
			}
		}
		// The file is read before the instance starts: its first state
		// already has the weight.
		want := []string{`INSTANCE "VI_1" BACKUP 120`, `INSTANCE "VI_1" MASTER 120`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" STOP 100`}
		if diff := cmp.Diff(want, vi1); diff != "" {
			t.Errorf("VI_1 FIFO lines (-want +got):\n%s", diff)
		}
		if !strings.Contains(td.logText(), "priority changed") {
			t.Error("no priority changed log")
		}
	})
}

// TestTrackScriptFake: a weighted vrrp_script lowers the priority while it
// fails; a higher-priority peer then wins and the instance becomes BACKUP.
func TestTrackScriptFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		flag := filepath.Join(t.TempDir(), "ok")
		td, c := newTestDaemon(t, fifoGlobal+`
vrrp_script chk {
    script "/usr/bin/test -e `+flag+`"
    interval 1
    weight -60
}
`+vi("VI_1", 51, 150, "track_script {\n chk\n}"))
		if err := os.WriteFile(flag, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		td.run(c)
		settle(5 * time.Second)
		stop := runPeer(t, td.f, 120)
		settle(5 * time.Second)
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		td.shutdown()
		stop()
		want := []string{`INSTANCE "VI_1" BACKUP 150`, `INSTANCE "VI_1" MASTER 150`, `INSTANCE "VI_1" BACKUP 90`, `INSTANCE "VI_1" STOP 90`}
		if diff := cmp.Diff(want, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
		if !strings.Contains(td.logText(), `script=chk up=false cause=fall`) {
			t.Errorf("log lacks the vrrp_script line:\n%s", td.logText())
		}
	})
}

// TestSyncGroupFake: the members of a sync group move together; GROUP
// lines and scripts follow once every member is in the new state, and
// the group's track_interface applies to every member.
func TestSyncGroupFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, fifoGlobal+`
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    track_interface {
        eth1
    }
    notify_master /bin/gmaster
    notify /bin/gnotify
}
`+vi("VI_1", 51, 100, "")+vi("VI_2", 52, 100, ""))
		td.run(c)
		settle(5 * time.Second)
		td.f.setLink("eth1", false)
		settle(time.Second)
		td.shutdown()
		var group []string
		states := map[string][]string{}
		for _, l := range td.fifoLines(t) {
			f := strings.Fields(l)
			if f[0] == "GROUP" {
				group = append(group, l)
				continue
			}
			states[f[1]] = append(states[f[1]], f[2])
		}
		if diff := cmp.Diff([]string{`GROUP "G" BACKUP`, `GROUP "G" MASTER`, `GROUP "G" FAULT`, `GROUP "G" STOP`}, group); diff != "" {
			t.Errorf("GROUP lines (-want +got):\n%s", diff)
		}
		each := []string{"BACKUP", "MASTER", "FAULT", "STOP"}
		if diff := cmp.Diff(map[string][]string{`"VI_1"`: each, `"VI_2"`: each}, states); diff != "" {
			t.Errorf("member states (-want +got):\n%s", diff)
		}
		scripts := td.f.takeScripts()
		for _, want := range []string{"/bin/gmaster", "/bin/gnotify GROUP G MASTER 0", "/bin/gnotify GROUP G FAULT 0"} {
			if !slices.Contains(scripts, want) {
				t.Errorf("scripts %q lack %q", scripts, want)
			}
		}
	})
}

// TestReloadFake: a reload updates a changed instance in place (no
// transition, no address change), removes a dropped one (STOP, address
// removed), adds a new one and keeps an identical one; a file that does
// not parse changes nothing.
func TestReloadFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf := fifoGlobal + vi("VI_1", 51, 100, "") + vi("VI_2", 52, 100, "") + vi("VI_3", 53, 100, "")
		td, c := newTestDaemon(t, conf)
		td.run(c)
		settle(5 * time.Second)
		td.f.takeOps()
		before := len(td.fifoLines(t))
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		next := strings.ReplaceAll(fifoGlobal, fifoPlaceholder, td.fifo) + vi("VI_1", 51, 110, "") + vi("VI_3", 53, 100, "") + vi("VI_4", 54, 100, "")
		if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.reload(path); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		lines := td.fifoLines(t)[before:]
		want := []string{`INSTANCE "VI_2" STOP 100`, `INSTANCE "VI_4" BACKUP 100`, `INSTANCE "VI_4" MASTER 100`}
		if diff := cmp.Diff(want, lines); diff != "" {
			t.Errorf("FIFO lines of the reload (-want +got):\n%s", diff)
		}
		ops := td.f.takeOps()
		if !slices.Contains(ops, "ip addr del 192.0.2.52/24 dev eth0") || !slices.Contains(ops, "ip addr add 192.0.2.54/24 dev eth0") {
			t.Errorf("VIP operations of the reload = %q, want VI_2's address removed and VI_4's added", ops)
		}
		for _, o := range ops {
			if strings.Contains(o, "192.0.2.51/") || strings.Contains(o, "192.0.2.53/") {
				t.Errorf("reload touched a kept instance's address: %q", o)
			}
		}
		for _, w := range []string{"instance=VI_1 action=update", "instance=VI_3 action=keep", "instance=VI_4 action=add", "instance=VI_2 action=remove"} {
			if !strings.Contains(td.logText(), w) {
				t.Errorf("log lacks %q", w)
			}
		}
		// A broken file: an error, nothing changes.
		if err := os.WriteFile(path, []byte("vrrp_instance {\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		n := len(td.fifoLines(t))
		if err := td.reload(path); err == nil {
			t.Error("reload of a broken file: no error")
		}
		settle(5 * time.Second)
		if got := td.fifoLines(t)[n:]; len(got) != 0 {
			t.Errorf("broken reload changed states: %q", got)
		}
		if ops := td.f.takeOps(); len(ops) != 0 {
			t.Errorf("broken reload touched addresses: %q", ops)
		}
		td.shutdown()
		if c, m := td.f.open(); c != 0 || m != 0 {
			t.Errorf("after shutdown %d sockets and %d managers open", c, m)
		}
	})
}

// TestReloadRestartGroupFake: changing a sync group member's VRID
// restarts it, and with it every member of its group.
func TestReloadRestartGroupFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		group := `
vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
}
`
		td, c := newTestDaemon(t, fifoGlobal+group+vi("VI_1", 51, 100, "")+vi("VI_2", 52, 100, ""))
		td.run(c)
		settle(5 * time.Second)
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		next := strings.ReplaceAll(fifoGlobal, fifoPlaceholder, td.fifo) + group + vi("VI_1", 51, 100, "") + vi("VI_2", 62, 100, "")
		if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.reload(path); err != nil {
			t.Fatal(err)
		}
		settle(5 * time.Second)
		for _, w := range []string{"instance=VI_1 action=restart", "instance=VI_2 action=restart"} {
			if !strings.Contains(td.logText(), w) {
				t.Errorf("log lacks %q", w)
			}
		}
		td.shutdown()
		if n := strings.Count(strings.Join(td.fifoLines(t), "\n"), `GROUP "G" MASTER`); n != 2 {
			t.Errorf("GROUP MASTER lines = %d, want 2 (before and after the restart)", n)
		}
	})
}

// TestPendingInstanceFake: an instance whose socket cannot be opened is
// retried every 2 s and starts once it can.
func TestPendingInstanceFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, fifoGlobal+vi("VI_1", 51, 100, ""))
		td.f.mu.Lock()
		td.f.listenErr["eth0"] = errors.New("no such device")
		td.f.mu.Unlock()
		td.run(c)
		settle(5 * time.Second)
		if got := td.fifoLines(t); len(got) != 0 {
			t.Errorf("FIFO before the interface exists: %q", got)
		}
		td.f.mu.Lock()
		delete(td.f.listenErr, "eth0")
		td.f.mu.Unlock()
		settle(10 * time.Second)
		td.shutdown()
		if !strings.Contains(td.logText(), "vrrp_instance started after retries") {
			t.Errorf("log lacks the start after retries:\n%s", td.logText())
		}
		if diff := cmp.Diff([]string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" STOP 100`}, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
	})
}

// TestStaticFake: static addresses, routes and rules are added at start,
// reconciled on reload and removed at shutdown.
func TestStaticFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, `
static_ipaddress {
    192.0.2.200/24 dev eth0
}
static_routes {
    203.0.113.0/24 via 192.0.2.2
}
`)
		td.run(c)
		synctest.Wait()
		if diff := cmp.Diff([]string{"ip addr add 192.0.2.200/24 dev eth0", "ip route add 203.0.113.0/24 via 192.0.2.2 table 254"}, td.f.takeOps()); diff != "" {
			t.Errorf("static at start (-want +got):\n%s", diff)
		}
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		if err := os.WriteFile(path, []byte("static_ipaddress {\n 192.0.2.201/24 dev eth0\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := td.reload(path); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"ip route del 203.0.113.0/24 via 192.0.2.2 table 254", "ip addr del 192.0.2.200/24 dev eth0", "ip addr add 192.0.2.201/24 dev eth0"}, td.f.takeOps()); diff != "" {
			t.Errorf("static on reload (-want +got):\n%s", diff)
		}
		td.shutdown()
		if diff := cmp.Diff([]string{"close: ip addr del 192.0.2.201/24 dev eth0"}, td.f.takeOps()); diff != "" {
			t.Errorf("static at shutdown (-want +got):\n%s", diff)
		}
	})
}

// TestDumpAndMetricsFake: the text and JSON dumps and the metrics
// collector show the running instance.
func TestDumpAndMetricsFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, vi("VI_1", 51, 100, ""))
		td.met = newMetrics()
		td.notify.met = td.met
		td.run(c)
		settle(5 * time.Second)
		td.writeDump(false)
		td.writeDump(true)
		b, err := os.ReadFile(filepath.Join(td.opt.DumpDir, "keepalived.data"))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"VRRP Instance = VI_1", "State = MASTER", "Priority = 100 (base 100)", "192.0.2.51/24"} {
			if !strings.Contains(string(b), w) {
				t.Errorf("text dump lacks %q:\n%s", w, b)
			}
		}
		jb, err := os.ReadFile(td.opt.JSONDump)
		if err != nil {
			t.Fatal(err)
		}
		var s stateDump
		if err := json.Unmarshal(jb, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Instances) != 1 || s.Instances[0].State != "MASTER" || len(s.Instances[0].Installed) != 1 {
			t.Errorf("JSON dump = %+v", s.Instances)
		}
		mfs, err := td.met.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			if mf.GetName() == "keepalived_vrrp_state" {
				for _, m := range mf.GetMetric() {
					found = m.GetGauge().GetValue() == 2
				}
			}
		}
		if !found {
			t.Error("keepalived_vrrp_state of VI_1 is not 2 (MASTER)")
		}
		td.shutdown()
	})
}

// TestTrackBFDFake: an unweighted track_bfd faults the instance when the
// session goes down after being up.
func TestTrackBFDFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, fifoGlobal+`
bfd_instance KA {
    neighbor_ip 192.0.2.2
    source_ip 192.0.2.1
    min_rx 100
    min_tx 100
}
`+vi("VI_1", 51, 100, "track_bfd {\n KA\n}"))
		peerTr, err := td.f.bfdNet.Listen(netip.MustParseAddr("192.0.2.2"))
		if err != nil {
			t.Fatal(err)
		}
		peer, err := bfd.NewMux(bfd.MuxConfig{}, peerTr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = peer.Run(ctx)
		}()
		if _, err := peer.Add(ctx, bfd.SessionConfig{Peer: netip.MustParseAddr("192.0.2.1"), Local: netip.MustParseAddr("192.0.2.2"),
			Config: bfd.Config{DesiredMinTxInterval: 100 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond, DetectMultiplier: 3}}); err != nil {
			t.Fatal(err)
		}
		td.run(c)
		settle(5 * time.Second)
		cancel()
		<-done
		settle(5 * time.Second)
		td.shutdown()
		want := []string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" FAULT 100`, `INSTANCE "VI_1" STOP 100`}
		if diff := cmp.Diff(want, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
		if !strings.Contains(td.logText(), "bfd=KA") || !strings.Contains(td.logText(), "state=Up") {
			t.Errorf("log lacks the BFD session going up:\n%s", td.logText())
		}
	})
}

// TestReloadDoesNotStallLoop: while a reload waits for a removed
// instance to take its address down (held by the fake), the loop keeps
// serving: a dump is written and a tracked interface going down faults
// the other instance. The reload completes once the removal does.
func TestReloadDoesNotStallLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		track := "track_interface {\n eth1\n}"
		td, c := newTestDaemon(t, fifoGlobal+vi("VI_1", 51, 100, track)+vi("VI_2", 52, 100, ""))
		td.run(c)
		settle(5 * time.Second)
		path := filepath.Join(t.TempDir(), "keepalived.conf")
		next := strings.ReplaceAll(fifoGlobal, fifoPlaceholder, td.fifo) + vi("VI_1", 51, 100, track)
		if err := os.WriteFile(path, []byte(next), 0o644); err != nil {
			t.Fatal(err)
		}
		hold := make(chan struct{})
		td.f.mu.Lock()
		td.f.holdRemove, td.f.holdAddr = hold, "192.0.2.52/24"
		td.f.mu.Unlock()
		reloaded := make(chan error, 1)
		go func() { reloaded <- td.reload(path) }()
		synctest.Wait()
		select {
		case err := <-reloaded:
			t.Fatalf("reload returned (%v) while VI_2's removal is held", err)
		default:
		}
		td.writeDump(true)
		if _, err := os.Stat(td.opt.JSONDump); err != nil {
			t.Errorf("no dump during the reload: %v", err)
		}
		td.f.setLink("eth1", false)
		settle(time.Second)
		if l := td.fifoLines(t); l[len(l)-1] != `INSTANCE "VI_1" FAULT 100` {
			t.Errorf("last FIFO line during the reload = %q, want VI_1 FAULT", l[len(l)-1])
		}
		close(hold)
		synctest.Wait()
		if err := <-reloaded; err != nil {
			t.Fatal(err)
		}
		td.f.mu.Lock()
		td.f.holdRemove = nil
		td.f.mu.Unlock()
		td.shutdown()
		if c, m := td.f.open(); c != 0 || m != 0 {
			t.Errorf("after shutdown %d sockets and %d managers open", c, m)
		}
	})
}

// TestVMACFake: with use_vmac the instance creates its VMAC interface,
// sends from it with the parent's address and puts its addresses on it.
func TestVMACFake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, vi("VI_1", 51, 100, "use_vmac"))
		td.run(c)
		settle(5 * time.Second)
		td.shutdown()
		ops := td.f.takeOps()
		for _, want := range []string{"ip link add vrrp.51", "ip addr add 192.0.2.51/24 dev vrrp.51"} {
			if !slices.Contains(ops, want) {
				t.Errorf("VIP operations %q lack %q", ops, want)
			}
		}
	})
}

// TestMetricsServeFake: the metrics endpoint serves the instances'
// gauges and the daemon's counters over HTTP.
func TestMetricsServeFake(t *testing.T) {
	td, c := newTestDaemon(t, vi("VI_1", 51, 100, ""))
	td.met = newMetrics()
	td.notify.met = td.met
	stop, err := td.met.serve("127.0.0.1:0", td.log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	td.run(c)
	defer td.shutdown()
	addr := ""
	for _, l := range strings.Split(td.logText(), "\n") {
		if _, a, ok := strings.Cut(l, "msg=metrics addr="); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatalf("no metrics address in the log:\n%s", td.logText())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`keepalived_vrrp_state{iface="eth0",instance="VI_1",vrid="51"}`, `keepalived_vrrp_priority{instance="VI_1"} 100`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}
