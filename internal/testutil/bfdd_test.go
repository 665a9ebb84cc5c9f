package testutil_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

func bfddConf(peer, local string) string {
	return fmt.Sprintf(`bfd
 peer %s local-address %s
  transmit-interval 100
  receive-interval 100
  detect-multiplier 3
  no shutdown
 !
!
`, peer, local)
}

// TestInteropBFDDPair brings a BFD session up between two FRR bfdd and sees
// it go down after one side is killed.
func TestInteropBFDDPair(t *testing.T) {
	a, b := testutil.NewPair(t)
	fa := testutil.StartBFDD(t, a, bfddConf(testutil.PairB4, testutil.PairA4))
	fb := testutil.StartBFDD(t, b, bfddConf(testutil.PairA4, testutil.PairB4))
	p := fa.WaitPeer(t, testutil.PairB4, "up", 15*time.Second)
	if p.Local != testutil.PairA4 || p.DetectMultiplier != 3 || p.TransmitInterval != 100 {
		t.Errorf("A's session = %+v, want local %s, multiplier 3, tx 100 ms", p, testutil.PairA4)
	}
	fb.WaitPeer(t, testutil.PairA4, "up", 15*time.Second)
	fa.Kill()
	down := fb.WaitPeer(t, testutil.PairA4, "down", 15*time.Second)
	if down.Diagnostic == "ok" {
		t.Errorf("B's session went down with diagnostic %q, want a detection-time diagnostic", down.Diagnostic)
	}
}

// TestInteropKeepalivedBFD runs keepalived's BFD child (KeepalivedOptions.BFD)
// against FRR bfdd and waits for the session to come up.
func TestInteropKeepalivedBFD(t *testing.T) {
	testutil.RequireCommand(t, "keepalived")
	a, b := testutil.NewPair(t)
	conf := fmt.Sprintf(`bfd_instance KGO {
    neighbor_ip %s
    source_ip %s
    min_rx 100
    min_tx 100
    idle_tx 1000
    multiplier 3
}
`, testutil.PairB4, testutil.PairA4)
	k := testutil.StartKeepalived(t, a, conf, testutil.KeepalivedOptions{BFD: true})
	f := testutil.StartBFDD(t, b, bfddConf(testutil.PairA4, testutil.PairB4))
	f.WaitPeer(t, testutil.PairA4, "up", 15*time.Second)
	if n := len(k.PIDs()); n != 2 {
		t.Errorf("PIDs() = %v, want parent and BFD child", k.PIDs())
	}
	k.Stop()
	f.WaitPeer(t, testutil.PairA4, "down", 15*time.Second)
}
