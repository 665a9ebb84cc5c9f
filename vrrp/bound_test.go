package vrrp_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// boundTransport is a vrrptest.Transport bound to a VRID, like the
// Transports of vrrp.Conn.
type boundTransport struct {
	*vrrptest.Transport
	vrid uint8
}

func (b boundTransport) VRID() uint8        { return b.vrid }
func (b boundTransport) Source() netip.Addr { return b.Addr() }

var _ vrrp.BoundTransport = boundTransport{}

func TestNewBoundTransport(t *testing.T) {
	tests := []struct {
		name    string
		vrid    uint8
		src     netip.Addr
		wantErr []string // substrings of the error; nil: no error
	}{
		{"match", 51, addrA, nil},
		{"source from transport", 51, netip.Addr{}, nil},
		{"source with zone", 51, netip.MustParseAddr("::ffff:192.0.2.1"), nil},
		{"vrid mismatch", 52, addrA, []string{"VRID: 52, but the transport is bound to VRID 51"}},
		{"source mismatch", 51, addrB, []string{"Source: 192.0.2.2, but the transport sends from 192.0.2.1"}},
		{"both", 52, addrB, []string{"VRID 51", "sends from 192.0.2.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := boundTransport{vrrptest.NewNetwork().Transport(addrA), 51}
			_, err := vrrp.New(vrrp.Config{VRID: tt.vrid, Source: tt.src}, tr)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, vrrp.ErrInvalidConfig) {
				t.Fatalf("New: err = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: err = %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

// A zero Config.Source is the transport's: the advertisements' VRRPv3
// checksum covers it.
func TestNewBoundTransportSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := vrrptest.NewNetwork()
		var sent []vrrptest.Packet
		n.SetTap(func(p vrrptest.Packet) { sent = append(sent, p) })
		tr := boundTransport{n.Transport(addrA), 51}
		inst, err := vrrp.New(vrrp.Config{VRID: 51, Priority: 255, Addrs: []netip.Addr{vip}}, tr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- inst.Run(ctx) }()
		synctest.Wait()
		if err := inst.Update(vrrp.Config{VRID: 51, Priority: 255, Source: addrB, Addrs: []netip.Addr{vip}}); !errors.Is(err, vrrp.ErrInvalidConfig) {
			t.Errorf("Update with another Source: err = %v, want ErrInvalidConfig", err)
		}
		if err := inst.Update(vrrp.Config{VRID: 51, Priority: 200, Addrs: []netip.Addr{vip}}); err != nil {
			t.Errorf("Update without Source: %v", err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if len(sent) == 0 {
			t.Fatal("nothing sent")
		}
		for _, p := range sent {
			if _, ok := vrrp.VerifyChecksum(p.Payload, addrA, p.Dst); !ok {
				t.Errorf("advert %x: checksum not over source %v", p.Payload, addrA)
			}
		}
	})
}

// joinedTransport is a boundTransport that has joined some multicast
// groups, as a Conn's Transport reports with Joined.
type joinedTransport struct {
	boundTransport
	groups []netip.Addr
}

func (j joinedTransport) Joined(g netip.Addr) bool { return slices.Contains(j.groups, g) }

func TestNewBoundTransportGroup(t *testing.T) {
	doc4 := netip.MustParseAddr("233.252.0.18")
	tests := []struct {
		name   string
		joined []netip.Addr
		cfg    vrrp.Config
		ok     bool
	}{
		{"default group joined", []netip.Addr{vrrp.MulticastGroup4}, vrrp.Config{VRID: 51}, true},
		{"default group not joined", []netip.Addr{doc4}, vrrp.Config{VRID: 51}, false},
		{"mcast_dst_ip joined", []netip.Addr{vrrp.MulticastGroup4, doc4}, vrrp.Config{VRID: 51, MulticastGroup: doc4}, true},
		{"mcast_dst_ip not joined", []netip.Addr{vrrp.MulticastGroup4}, vrrp.Config{VRID: 51, MulticastGroup: doc4}, false},
		{"unicast needs no group", nil, vrrp.Config{VRID: 51, Peers: []netip.Addr{addrB}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := joinedTransport{boundTransport{vrrptest.NewNetwork().Transport(addrA), 51}, tt.joined}
			_, err := vrrp.New(tt.cfg, tr)
			if tt.ok && err != nil {
				t.Fatalf("New: %v", err)
			}
			if !tt.ok && !errors.Is(err, vrrp.ErrInvalidConfig) {
				t.Fatalf("New: err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}
