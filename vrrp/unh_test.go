package vrrp

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// Tests named after the UNH-IOL "Virtual Router Redundancy Protocol
// Operations Test Suite" (Routing Consortium), groups 2 (state transition
// diagram), 3 (parameters per virtual router) and 4 (transmission and
// reception). Group 1 (interoperability) is covered by vrrptest's LAN
// scenarios and the interop tests with real keepalived.

// raw rewrites an advert's payload with f and, if fix is true, recomputes
// its checksum so that only the mutated field is wrong.
func raw(ev Event, fix bool, f func(b []byte) []byte) Event {
	b := f(append([]byte(nil), ev.Payload...))
	if fix && len(b) >= 8 {
		src, dst := ev.Meta.Src, ev.Meta.Dst
		if b[0]>>4 == 2 {
			src, dst = netip.Addr{}, netip.Addr{}
		}
		binary.BigEndian.PutUint16(b[6:], Checksum(b, src, dst))
	}
	ev.Payload = b
	return ev
}

func TestUNHGroup2StateTransitions(t *testing.T) {
	t.Run("VRRP.2.1a Initialize: owner becomes Master and advertises", func(t *testing.T) {
		c := baseConfig()
		c.Priority = 255
		r := newRig(t, c)
		acts := r.start()
		r.wantTransition(acts, StateInit, StateMaster, ReasonOwner)
		r.wantSendPrio(acts, 255)
	})
	t.Run("VRRP.2.1b Initialize: non-owner becomes Backup with Master_Down_Timer", func(t *testing.T) {
		r := newRig(t, baseConfig())
		acts := r.start()
		r.wantTransition(acts, StateInit, StateBackup, ReasonStartup)
		r.wantSendPrio(acts)
		if got := r.m.NextDeadline().Sub(r.now); got != r.m.MasterDownInterval() {
			t.Fatalf("Master_Down_Timer %v", got)
		}
	})
	t.Run("VRRP.2.2 Packet reception in Backup: Backup stays silent", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		for range 30 {
			acts := append(r.advance(time.Second), r.do(r.advert(200))...)
			r.wantSendPrio(acts)
			r.wantNoTransition(acts)
		}
	})
	t.Run("VRRP.2.3 Master down in Backup: transition and advertise", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.do(r.advert(200))
		acts := r.advance(r.m.MasterDownInterval())
		r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterDown)
		r.wantSendPrio(acts, 100)
	})
	t.Run("VRRP.2.4a Advertisement reception in Backup: priority 0 → Skew_Time", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.do(r.advert(0))
		r.wantTransition(r.advance(r.m.SkewTime()), StateBackup, StateMaster, ReasonMasterStopped)
	})
	t.Run("VRRP.2.4b Advertisement reception in Backup: lower priority, preempt", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		var acts []Action
		for range 5 {
			r.do(r.advert(99))
			acts = append(acts, r.advance(time.Second)...)
		}
		r.wantTransition(acts, StateBackup, StateMaster, ReasonPreempt)
	})
	t.Run("VRRP.2.5 Packet reception in Master: periodic advertisements", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		acts := r.advance(5 * time.Second)
		r.wantSendPrio(acts, 100, 100, 100, 100, 100)
	})
	t.Run("VRRP.2.6 Shutdown event in Master: priority 0", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		acts := r.do(Event{Kind: EventStop})
		r.wantSendPrio(acts, 0)
		r.wantTransition(acts, StateMaster, StateStop, ReasonShutdown)
	})
	t.Run("VRRP.2.7a Advertisement reception in Master: higher priority", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		r.wantTransition(r.do(r.advert(101)), StateMaster, StateBackup, ReasonHigherPriority)
		if got := r.m.NextDeadline().Sub(r.now); got != r.m.MasterDownInterval() {
			t.Fatalf("Master_Down_Timer %v", got)
		}
	})
	t.Run("VRRP.2.7b Advertisement reception in Master: equal priority, higher address", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		r.wantTransition(r.do(r.advert(100, from(hiPeer))), StateMaster, StateBackup, ReasonTieBreak)
	})
	t.Run("VRRP.2.7c Advertisement reception in Master: equal priority, lower address", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		r.wantNoTransition(r.do(r.advert(100, from(loPeer))))
		r.state(StateMaster)
	})
}

func TestUNHGroup3Parameters(t *testing.T) {
	for _, tt := range []struct {
		id       string
		interval time.Duration
		version  int
	}{
		{"VRRP.3.1a Advertisement_Interval v2 1s", time.Second, 2},
		{"VRRP.3.1b Advertisement_Interval v2 5s", 5 * time.Second, 2},
		{"VRRP.3.1c Advertisement_Interval v3 10ms", 10 * time.Millisecond, 3},
		{"VRRP.3.1d Advertisement_Interval v3 2.5s", 2500 * time.Millisecond, 3},
	} {
		t.Run(tt.id, func(t *testing.T) {
			c := baseConfig()
			c.Version, c.AdvertInterval = tt.version, tt.interval
			r := newRig(t, c)
			r.toMaster()
			last := r.now
			for range 5 {
				acts := r.advance(tt.interval)
				ps := sends(acts)
				if len(ps) != 1 || ps[0].AdvertInterval != tt.interval {
					t.Fatalf("sent %+v", ps)
				}
				if gap := r.now.Sub(last); gap != tt.interval {
					t.Fatalf("gap %v", gap)
				}
				last = r.now
			}
		})
	}
	for _, tt := range []struct {
		id   string
		prio uint8
		adv  time.Duration
		ver  int
		skew time.Duration
	}{
		{"VRRP.3.2a Skew_Time v2 priority 100", 100, time.Second, 2, 156 * time.Second / 256},
		{"VRRP.3.2b Skew_Time v2 priority 254", 254, time.Second, 2, 2 * time.Second / 256},
		{"VRRP.3.2c Skew_Time v3 priority 1 at 100ms", 1, 100 * time.Millisecond, 3, 255 * 100 * time.Millisecond / 256},
	} {
		t.Run(tt.id, func(t *testing.T) {
			c := baseConfig()
			c.Priority, c.AdvertInterval, c.Version = tt.prio, tt.adv, tt.ver
			r := newRig(t, c)
			if got := r.m.SkewTime(); got != tt.skew {
				t.Fatalf("Skew_Time = %v, want %v", got, tt.skew)
			}
			t.Run("VRRP.3.3 Master_Down_Interval", func(t *testing.T) {
				if got, want := r.m.MasterDownInterval(), 3*tt.adv+tt.skew; got != want {
					t.Fatalf("Master_Down_Interval = %v, want %v", got, want)
				}
				r.start()
				r.wantNoTransition(r.advance(3*tt.adv + tt.skew - 1))
				r.wantTransition(r.advance(1), StateBackup, StateMaster, ReasonMasterDown)
			})
		})
	}
	for _, tt := range []struct {
		id        string
		noPreempt bool
		want      State
	}{
		{"VRRP.3.4a Preempt_Mode true", false, StateMaster},
		{"VRRP.3.4b Preempt_Mode false", true, StateBackup},
	} {
		t.Run(tt.id, func(t *testing.T) {
			c := baseConfig()
			c.NoPreempt = tt.noPreempt
			r := newRig(t, c)
			r.start()
			for range 10 {
				r.do(r.advert(50))
				r.advance(time.Second)
			}
			r.state(tt.want)
		})
	}
}

func TestUNHGroup4Reception(t *testing.T) {
	v2 := func(c *Config) { c.Version = 2 }
	v2pass := func(c *Config) { c.Version = 2; c.AuthType = AuthSimple; c.AuthPass = "secret1" }
	tests := []struct {
		id   string
		cfg  func(*Config)
		ev   func(r *rig) Event
		drop DropReason
	}{
		{"VRRP.4.1a invalid TTL 254", nil, func(r *rig) Event { return r.advert(200, ttl(254)) }, DropTTL},
		{"VRRP.4.1b invalid TTL 1", nil, func(r *rig) Event { return r.advert(200, ttl(1)) }, DropTTL},
		{"VRRP.4.1c invalid TTL 0 (v2)", v2, func(r *rig) Event { return r.advert(200, ttl(0)) }, DropTTL},
		{"VRRP.4.2a invalid version 1", nil, func(r *rig) Event {
			return raw(r.advert(200), true, func(b []byte) []byte { b[0] = 0x11; return b })
		}, DropVersion},
		{"VRRP.4.2b invalid version 4", nil, func(r *rig) Event {
			return raw(r.advert(200), true, func(b []byte) []byte { b[0] = 0x41; return b })
		}, DropVersion},
		{"VRRP.4.2c version 2 to a VRRPv3 router", nil, func(r *rig) Event {
			p := Packet{Version: 2, Type: 1, VRID: 51, Priority: 200, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
			b, _ := p.MarshalBinary()
			return Event{Kind: EventPacket, Payload: b, Meta: Meta{Src: hiPeer, Dst: MulticastGroup4, TTL: 255}}
		}, DropVersion},
		{"VRRP.4.2d version 3 to a VRRPv2 router", v2, func(r *rig) Event {
			p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 200, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
			b, _ := p.AppendChecksummed(nil, hiPeer, MulticastGroup4)
			return Event{Kind: EventPacket, Payload: b, Meta: Meta{Src: hiPeer, Dst: MulticastGroup4, TTL: 255}}
		}, DropVersion},
		{"VRRP.4.3a invalid length: truncated header", nil, func(r *rig) Event {
			return raw(r.advert(200), false, func(b []byte) []byte { return b[:6] })
		}, DropLength},
		{"VRRP.4.3b invalid length: count beyond packet", nil, func(r *rig) Event {
			return raw(r.advert(200), true, func(b []byte) []byte { b[3] = 3; return b })
		}, DropLength},
		{"VRRP.4.3c invalid length: v2 without auth data", v2, func(r *rig) Event {
			return raw(r.advert(200), false, func(b []byte) []byte { return b[:12] })
		}, DropLength},
		{"VRRP.4.4a invalid checksum v3", nil, func(r *rig) Event {
			return raw(r.advert(200), false, func(b []byte) []byte { b[7] ^= 0xff; return b })
		}, DropChecksum},
		{"VRRP.4.4b invalid checksum v2", v2, func(r *rig) Event {
			return raw(r.advert(200), false, func(b []byte) []byte { b[6] ^= 0x01; return b })
		}, DropChecksum},
		{"VRRP.4.4c v3 checksum with wrong pseudo-header", nil, func(r *rig) Event {
			ev := r.advert(200)
			ev.Meta.Dst = hiPeer
			return ev
		}, DropChecksum},
		{"VRRP.4.5 invalid VRID", nil, func(r *rig) Event { return r.advert(200, vrid(52)) }, DropVRID},
		{"VRRP.4.6a invalid auth type (none vs simple)", v2pass, func(r *rig) Event { return r.advert(200, auth(AuthNone, "")) }, DropAuthType},
		{"VRRP.4.6b invalid auth type (AH vs simple)", v2pass, func(r *rig) Event { return r.advert(200, auth(AuthAH, "")) }, DropAuthType},
		{"VRRP.4.6c wrong simple password", v2pass, func(r *rig) Event { return r.advert(200, auth(AuthSimple, "secret2")) }, DropAuth},
		{"VRRP.4.7a invalid advert interval v2", v2, func(r *rig) Event { return r.advert(200, interval(2*time.Second)) }, DropInterval},
		{"VRRP.4.7b zero advert interval v3", nil, func(r *rig) Event { return r.advert(200, interval(0)) }, DropInterval},
		{"VRRP.4.8a unknown type 0", nil, func(r *rig) Event {
			return raw(r.advert(200), true, func(b []byte) []byte { b[0] = 0x30; return b })
		}, DropType},
		{"VRRP.4.8b unknown type 15", v2, func(r *rig) Event {
			return raw(r.advert(200), true, func(b []byte) []byte { b[0] = 0x2f; return b })
		}, DropType},
		{"keepalived: address list mismatch with strict", func(c *Config) { c.StrictAddrs = true }, func(r *rig) Event {
			return r.advert(200, addrs(netip.MustParseAddr("192.0.2.200")))
		}, DropAddrs},
		{"keepalived: own address looped back", nil, func(r *rig) Event { return r.advert(200, from(ourAddr)) }, DropOwnAddress},
		{"keepalived: unicast source not a peer", func(c *Config) { c.Peers = []netip.Addr{loPeer}; c.CheckUnicastSource = true },
			func(r *rig) Event { return r.advert(200, from(hiPeer)) }, DropPeer},
		{"wrong family", nil, func(r *rig) Event { return r.advert(200, from(kaSrc6)) }, DropFamily},
		{"destination of the other family", nil, func(r *rig) Event {
			ev := r.advert(200)
			ev.Meta.Dst = kaSrc6
			return ev
		}, DropFamily},
		{"checksum variant not accepted", func(c *Config) { c.ChecksumAccept = AcceptConfigured }, func(r *rig) Event {
			ev := r.advert(200)
			p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 200, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
			ev.Payload, _ = p.AppendBinary(nil)
			return ev
		}, DropChecksum},
	}
	for _, tt := range tests {
		for _, st := range []State{StateBackup, StateMaster} {
			t.Run(tt.id+"/in "+st.String(), func(t *testing.T) {
				c := baseConfig()
				if tt.cfg != nil {
					tt.cfg(&c)
				}
				r := newRig(t, c)
				if st == StateMaster {
					r.toMaster()
				} else {
					r.start()
				}
				// Invalid higher-priority adverts every interval: a backup
				// still takes over at Master_Down_Interval, a master stays.
				var acts []Action
				for range 4 {
					acts = append(acts, r.do(tt.ev(r))...)
					acts = append(acts, r.advance(r.cfg.AdvertInterval)...)
				}
				if st == StateBackup {
					r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterDown)
				} else {
					r.wantNoTransition(acts)
				}
				s := r.m.Stats()
				if s.Drops[tt.drop] != 4 || s.Dropped() != 4 || s.AdvertsReceived != 0 {
					t.Fatalf("drops %v (want 4 × %v), received %d", s.Drops, tt.drop, s.AdvertsReceived)
				}
			})
		}
	}
}

func TestUNHGroup4ProperTransmission(t *testing.T) {
	tests := []struct {
		id   string
		cfg  func(*Config)
		dst  netip.Addr
		want Packet
	}{
		{"VRRP.4.9a v2 multicast", func(c *Config) { c.Version = 2; c.AuthType = AuthSimple; c.AuthPass = "secret1" }, MulticastGroup4,
			Packet{Version: 2, Type: 1, VRID: 51, Priority: 100, AuthType: AuthSimple, AdvertInterval: time.Second,
				Addrs: []netip.Addr{vip4}, AuthData: [8]byte{'s', 'e', 'c', 'r', 'e', 't', '1'}}},
		{"VRRP.4.9b v3 IPv4 multicast", nil, MulticastGroup4,
			Packet{Version: 3, Type: 1, VRID: 51, Priority: 100, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}},
		{"VRRP.4.9c v3 IPv4 unicast, no pseudo-header", func(c *Config) { c.Peers = []netip.Addr{hiPeer}; c.Checksum = ChecksumNoPseudoHeader }, hiPeer,
			Packet{Version: 3, Type: 1, VRID: 51, Priority: 100, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}},
		{"VRRP.4.9d v3 IPv6 multicast", func(c *Config) { c.Source = kaSrc6; c.Addrs = []netip.Addr{vip6} }, MulticastGroup6,
			Packet{Version: 3, Type: 1, VRID: 51, Priority: 100, AdvertInterval: time.Second, Addrs: []netip.Addr{vip6}}},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			c := baseConfig()
			if tt.cfg != nil {
				tt.cfg(&c)
			}
			r := newRig(t, c)
			r.toMaster()
			var sent []Action
			for _, a := range r.last {
				if a.Kind == ActionSend {
					sent = append(sent, a)
				}
			}
			if len(sent) != 1 || sent[0].Dst != tt.dst {
				t.Fatalf("sends %+v, want one to %v", sent, tt.dst)
			}
			var got Packet
			if err := got.Decode(sent[0].Payload, tt.dst.Is6()); err != nil {
				t.Fatal(err)
			}
			tt.want.Checksum = got.Checksum
			if !cmpPacket(t, tt.want, got) {
				return
			}
			src := r.cfg.Source
			mode, ok := VerifyChecksum(sent[0].Payload, src, tt.dst)
			wantMode := ChecksumPseudoHeader
			if c.Version == 2 || c.Checksum == ChecksumNoPseudoHeader {
				wantMode = ChecksumNoPseudoHeader
			}
			if !ok || mode != wantMode {
				t.Fatalf("checksum %v %v, want %v", mode, ok, wantMode)
			}
		})
	}
}

func cmpPacket(t *testing.T, want, got Packet) bool {
	t.Helper()
	if diff := cmpDiff(want, got); diff != "" {
		t.Fatalf("packet (-want +got):\n%s", diff)
		return false
	}
	return true
}
