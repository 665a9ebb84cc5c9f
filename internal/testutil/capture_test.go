package testutil_test

import (
	"slices"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestIntegrationCapture captures a ping, reads it back with tshark and
// expects no expert warnings.
func TestIntegrationCapture(t *testing.T) {
	testutil.RequireCommand(t, "tshark")
	a, b := testutil.NewPair(t)
	c := testutil.StartCapture(t, b, "eth0", "icmp or icmp6")
	a.Run(t, "ping", "-c", "3", "-i", "0.05", "-W", "5", testutil.PairB4)
	a.Run(t, "ping", "-6", "-c", "2", "-i", "0.05", "-W", "5", testutil.PairB6)
	pcap := c.Stop()
	if again := c.Stop(); again != pcap {
		t.Errorf("second Stop = %q, want %q", again, pcap)
	}
	rows := testutil.TsharkFields(t, pcap, "ip.src", "icmp.type")
	var echo4 [][]string
	for _, r := range rows {
		if len(r) != 2 {
			t.Fatalf("row %q has %d columns, want 2", r, len(r))
		}
		if r[0] != "" {
			echo4 = append(echo4, r)
		}
	}
	want := [][]string{{testutil.PairA4, "8"}, {testutil.PairB4, "0"}}
	for _, w := range want {
		if n := countRows(echo4, w); n != 3 {
			t.Errorf("capture has %d packets %q, want 3; all rows: %q", n, w, rows)
		}
	}
	if got := testutil.TsharkFields(t, pcap, "icmpv6.type"); countRows(got, []string{"128"}) != 2 || countRows(got, []string{"129"}) != 2 {
		t.Errorf("ICMPv6 types = %q, want 2 echo requests (128) and 2 replies (129)", got)
	}
	if w := testutil.ExpertInfo(t, pcap); len(w) != 0 {
		t.Errorf("expert warnings on a clean ping: %q", w)
	}
}

func countRows(rows [][]string, want []string) int {
	n := 0
	for _, r := range rows {
		if slices.Equal(r, want) {
			n++
		}
	}
	return n
}
