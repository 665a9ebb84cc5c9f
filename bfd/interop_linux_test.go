//go:build linux

package bfd_test

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

func frrConf(peer, local string, multiHop bool, intervalMS int) string {
	mh := ""
	if multiHop {
		mh = " multihop"
	}
	return fmt.Sprintf(`bfd
 peer %s%s local-address %s
  transmit-interval %d
  receive-interval %d
  detect-multiplier 3
  no shutdown
 !
!
`, peer, mh, local, intervalMS, intervalMS)
}

// dumpPayloads logs the hex of every BFD payload in pcap from src, and,
// with KGO_BFD_WRITE_CAPTURES=1, writes them to testdata/name.hex.
func dumpPayloads(t *testing.T, pcap, src, name string) {
	if dir := os.Getenv("KGO_BFD_KEEP_PCAP"); dir != "" {
		if data, err := os.ReadFile(pcap); err == nil {
			_ = os.WriteFile(filepath.Join(dir, name+".pcap"), data, 0o644)
		}
	}
	rows := testutil.TsharkFields(t, pcap, "ip.src", "ipv6.src", "udp.payload")
	var lines []string
	seen := map[string]bool{}
	for _, r := range rows {
		if len(r) < 3 || (r[0] != src && r[1] != src) || seen[r[2]] {
			continue
		}
		seen[r[2]] = true
		lines = append(lines, r[2])
	}
	t.Logf("%d distinct packets from %s", len(lines), src)
	if os.Getenv("KGO_BFD_WRITE_CAPTURES") == "1" && len(lines) > 0 {
		text := "# " + name + ": distinct BFD payloads from " + src + " captured by TestInterop (tshark udp.payload)\n" + strings.Join(lines, "\n") + "\n"
		if err := os.WriteFile("testdata/"+name+".hex", []byte(text), 0o644); err != nil {
			t.Error(err)
		}
	}
}

func checkExpert(t *testing.T, pcap string) {
	t.Helper()
	if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
		t.Errorf("tshark expert warnings:\n%s", strings.Join(w, "\n"))
	}
}

// TestInteropFRR runs our Mux in one namespace against FRR bfdd in the other:
// single-hop IPv4 and IPv6 and multi-hop IPv4 reach Up on both sides; a
// timer change completes its poll sequence and FRR reports our new
// intervals; killing bfdd brings our session Down with diag 1 within the
// detection time; tshark has no expert warnings on the exchange.
func TestInteropFRR(t *testing.T) {
	for _, tc := range []struct {
		name        string
		local, peer netip.Addr
		multiHop    bool
	}{
		{"single-hop IPv4", pairA4, pairB4, false},
		{"single-hop IPv6", pairA6, pairB6, false},
		{"multi-hop IPv4", pairA4, pairB4, true},
		{"multi-hop IPv6", pairA6, pairB6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testutil.RequireRoot(t)
			a, b := testutil.NewPair(t)
			capture := testutil.StartCapture(t, a, "eth0", "udp port 3784 or udp port 4784")
			ours := startUDPMux(t, a, bfd.UDPConfig{})
			frr := testutil.StartBFDD(t, b, frrConf(tc.local.String(), tc.peer.String(), tc.multiHop, 100))
			d, err := ours.Add(t.Context(), bfd.SessionConfig{Peer: tc.peer, Local: tc.local, MultiHop: tc.multiHop})
			if err != nil {
				t.Fatal(err)
			}
			st := waitState(t, ours.Mux, d, bfd.StateUp, 15*time.Second)
			fp := frr.WaitPeer(t, tc.local.String(), "up", 15*time.Second)
			if fp.Multihop != tc.multiHop {
				t.Errorf("FRR multihop %v", fp.Multihop)
			}
			t.Logf("up: ours %+v; FRR id %d remote-id %d", st.Status, fp.ID, fp.RemoteID)
			if fp.RemoteID != d || st.RemoteDiscriminator != fp.ID {
				t.Errorf("discriminators: FRR id %d remote-id %d; ours %d remote %d", fp.ID, fp.RemoteID, d, st.RemoteDiscriminator)
			}

			// Timer change: 300 ms → 100 ms on our side; the poll completes
			// and FRR reports the new values.
			if err := ours.Inject(t.Context(), d, bfd.Event{Kind: bfd.EventSetTimers, Timers: bfd.Timers{
				DesiredMinTxInterval: 100 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond}}); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			var peers []testutil.BFDPeer
			ok := false
			for !ok && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				st, _ = ours.Session(t.Context(), d)
				peers, _ = frr.Peers()
				for _, p := range peers {
					if p.Peer == tc.local.String() && p.RemoteTransmitInterval == 100 && p.RemoteReceiveInterval == 100 && !st.Polling {
						ok = true
						fp = p
					}
				}
			}
			if !ok {
				t.Fatalf("after timer change: ours %+v; FRR %+v", st.Status, peers)
			}
			if st.TxInterval != 100*time.Millisecond || st.DetectionTime != 300*time.Millisecond {
				t.Errorf("ours after poll: tx %v detect %v, want 100ms 300ms", st.TxInterval, st.DetectionTime)
			}
			t.Logf("after timer change: FRR %+v", fp)

			// Kill FRR: Down with diag 1 within the detection time.
			killed := time.Now()
			frr.Kill()
			down := waitState(t, ours.Mux, d, bfd.StateDown, 5*time.Second)
			c, _ := ours.rec.last(d)
			if c.To != bfd.StateDown || c.Diag != bfd.DiagControlDetectExpired || c.Reason != bfd.ReasonDetectExpired {
				t.Errorf("down transition %+v", c)
			}
			// Down no earlier than one detection time after the last packet
			// from FRR, which itself came before the kill. The upper bounds
			// are generous multiples of the detection time: on a loaded
			// machine the loop may run late, but never a whole detection
			// time late three times over.
			if silent := c.At.Sub(down.LastReceived); silent < st.DetectionTime || silent > 3*st.DetectionTime {
				t.Errorf("Down %v after the last packet, detection time %v", silent, st.DetectionTime)
			}
			if down.LastReceived.After(killed.Add(st.DetectionTime)) {
				t.Errorf("packet received %v after the kill", down.LastReceived.Sub(killed))
			}
			t.Logf("kill → Down (diag %v) in %v (detection time %v)", c.Diag, c.At.Sub(killed), st.DetectionTime)
			pcap := capture.Stop()
			checkExpert(t, pcap)
			name := "frr-" + strings.NewReplacer(" ", "-", "IPv", "ipv").Replace(tc.name)
			dumpPayloads(t, pcap, tc.peer.String(), name)
			dumpPayloads(t, pcap, tc.local.String(), "ours-"+name)
		})
	}
}

// TestInteropKeepalived runs keepalived's BFD child against our Mux.
func TestInteropKeepalived(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireCommand(t, "keepalived")
	a, b := testutil.NewPair(t)
	capture := testutil.StartCapture(t, a, "eth0", "udp port 3784")
	ours := startUDPMux(t, a, bfd.UDPConfig{})
	conf := fmt.Sprintf(`bfd_instance KGO {
    neighbor_ip %s
    source_ip %s
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`, testutil.PairA4, testutil.PairB4)
	k := testutil.StartKeepalived(t, b, conf, testutil.KeepalivedOptions{BFD: true})
	d, err := ours.Add(t.Context(), bfd.SessionConfig{Peer: pairB4, Local: pairA4, Config: bfd.Config{
		DesiredMinTxInterval: 100 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	st := waitState(t, ours.Mux, d, bfd.StateUp, 15*time.Second)
	// Let keepalived's own poll sequence (1 s idle → 100 ms) finish.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (st.RemoteDesiredMinTxInterval != 100*time.Millisecond || st.Polling) {
		time.Sleep(100 * time.Millisecond)
		st, _ = ours.Session(t.Context(), d)
	}
	if st.State != bfd.StateUp || st.RemoteDesiredMinTxInterval != 100*time.Millisecond {
		t.Errorf("with keepalived: %+v", st.Status)
	}
	t.Logf("up with keepalived: %+v", st.Status)
	// keepalived's side: its BFD child logs the Up transition.
	deadline = time.Now().Add(10 * time.Second)
	kaUp := false
	for !kaUp && time.Now().Before(deadline) {
		logText, _ := os.ReadFile(k.Log)
		kaUp = strings.Contains(string(logText), "Entering Up state")
		if !kaUp {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !kaUp {
		logText, _ := os.ReadFile(k.Log)
		t.Errorf("keepalived never logged \"Entering Up state\":\n%s", logText)
	}
	k.Stop()
	c := waitState(t, ours.Mux, d, bfd.StateDown, 10*time.Second)
	t.Logf("after keepalived stopped: diag %v", c.LocalDiag)
	pcap := capture.Stop()
	checkExpert(t, pcap)
	dumpPayloads(t, pcap, testutil.PairB4, "keepalived-ipv4")
}
