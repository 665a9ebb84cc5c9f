package vrrp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// A Conn's Transport hands over, through ReadPending, packets still in the
// socket's receive buffer: here no reader goroutine runs at all (as after a
// pause of the process, before it has been scheduled), so only
// drainSocket's non-blocking reads can deliver them.
func TestIntegrationReadPendingDrainsSocket(t *testing.T) {
	testutil.RequireRoot(t)
	for _, v6 := range []bool{false, true} {
		name := map[bool]string{false: "v4", true: "v6"}[v6]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a, b := testutil.NewPair(t)
			sender, err := Listen(ConnConfig{Interface: "eth0", IPv6: v6, NetNS: a.Path()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sender.Close() })
			// The receiving Conn, opened without its reader goroutine.
			c, err := openConn(ConnConfig{Interface: "eth0", IPv6: v6, NetNS: b.Path()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			tr, err := c.Transport(51)
			if err != nil {
				t.Fatal(err)
			}
			st, err := sender.Transport(51)
			if err != nil {
				t.Fatal(err)
			}
			group := MulticastGroup4
			if v6 {
				group = MulticastGroup6
			}
			var sent [][]byte
			for i := range 3 {
				h := "3133960100640000c0000264" // VRID 51 prio 150 advert, 192.0.2.100
				if v6 {
					h = "3133960100640000" + "20010db8000000000000000000000100"
				}
				p, _ := hex.DecodeString(h)
				p[2] = byte(150 + i)
				binary.BigEndian.PutUint16(p[6:], Checksum(p, sender.Source(), group))
				if err := st.WriteTo(p, group); err != nil {
					t.Fatal(err)
				}
				sent = append(sent, p)
			}
			other, _ := hex.DecodeString("3134960100640000c0000264") // VRID 52: no transport
			if err := sender.writeTo(other, group); err != nil {
				t.Fatal(err)
			}
			pr := tr.(PendingReader)
			buf := make([]byte, 1500)
			var got [][]byte
			// Bounded poll: the packets cross a veth asynchronously.
			for deadline := time.Now().Add(5 * time.Second); len(got) < len(sent) && time.Now().Before(deadline); {
				n, m, ok := pr.ReadPending(buf)
				if !ok {
					time.Sleep(5 * time.Millisecond)
					continue
				}
				got = append(got, bytes.Clone(buf[:n]))
				if m.Src != sender.Source() || m.Dst != group || m.TTL != 255 || m.IfIndex != c.ifi.Index {
					t.Errorf("meta %+v, want src %v dst %v TTL 255 ifindex %d", m, sender.Source(), group, c.ifi.Index)
				}
			}
			if len(got) != len(sent) {
				t.Fatalf("ReadPending returned %d of %d packets", len(got), len(sent))
			}
			for i := range sent {
				if !bytes.Equal(got[i], sent[i]) {
					t.Errorf("packet %d = %x, want %x", i, got[i], sent[i])
				}
			}
			waitFor := func(cond func() bool) {
				for deadline := time.Now().Add(5 * time.Second); !cond() && time.Now().Before(deadline); {
					time.Sleep(5 * time.Millisecond)
					pr.ReadPending(buf)
				}
			}
			waitFor(func() bool { return c.Stats().UnknownVRID >= 1 })
			if s := c.Stats(); s.UnknownVRID != 1 || s.Received != 3 {
				t.Errorf("stats %+v, want 3 received, 1 unknown VRID", s)
			}
			if _, _, ok := pr.ReadPending(buf); ok {
				t.Error("ReadPending returned a fourth packet")
			}
			tr.Close()
			if _, _, ok := pr.ReadPending(buf); ok {
				t.Error("ReadPending after Close returned a packet")
			}
		})
	}
}
