package bfd

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type sent struct {
	at time.Time
	p  ControlPacket
}

// simNode is one side of a two-session discrete-event simulation.
type simNode struct {
	s     *Session
	sent  []sent
	trans []Transition
	up    bool // link from this node to the other delivers
	ttl   uint8
}

type delivery struct {
	at  time.Time
	to  int
	raw []byte
}

// sim drives two sessions over a lossless link with a fixed delay,
// encoding and decoding every packet.
type sim struct {
	t     testing.TB
	now   time.Time
	n     [2]*simNode
	delay time.Duration
	queue []delivery
	// drop, if set, is asked about every packet a node sends.
	drop func(from int) bool
}

func newSim(t testing.TB, ca, cb Config) *sim {
	t.Helper()
	sm := &sim{t: t, now: t0, delay: time.Millisecond}
	for i, c := range []Config{ca, cb} {
		if c.Rand == nil {
			c.Rand = rand.NewPCG(uint64(i+1), 42)
		}
		s, err := NewSession(c)
		if err != nil {
			t.Fatal(err)
		}
		sm.n[i] = &simNode{s: s, up: true, ttl: 255}
	}
	for i := range sm.n {
		sm.apply(i, sm.n[i].s.Handle(sm.now, Event{Kind: EventTimer}))
	}
	return sm
}

func (sm *sim) apply(i int, acts []Action) {
	n := sm.n[i]
	for _, a := range acts {
		switch a.Kind {
		case ActionSend:
			raw, err := n.s.AppendPacket(nil, &a.Packet)
			if err != nil {
				sm.t.Fatalf("node %d: AppendPacket: %v", i, err)
			}
			p := a.Packet
			if p.Auth != nil {
				// keep a snapshot: the session reuses its auth section
				var c ControlPacket
				if err := c.UnmarshalBinary(raw); err != nil {
					sm.t.Fatal(err)
				}
				p = c
			}
			n.sent = append(n.sent, sent{sm.now, p})
			if n.up && (sm.drop == nil || !sm.drop(i)) {
				sm.queue = append(sm.queue, delivery{sm.now.Add(sm.delay), 1 - i, raw})
			}
		case ActionTransition:
			n.trans = append(n.trans, a.Transition)
		}
	}
}

// inject hands ev to node i now.
func (sm *sim) inject(i int, ev Event) { sm.apply(i, sm.n[i].s.Handle(sm.now, ev)) }

// run advances the simulation until the given time.
func (sm *sim) run(until time.Time) {
	for steps := 0; steps < 1_000_000; steps++ {
		next := until
		kind, who := -1, -1
		for i, n := range sm.n {
			if d := n.s.NextDeadline(); !d.IsZero() && d.Before(next) {
				next, kind, who = d, 0, i
			}
		}
		for qi, d := range sm.queue {
			if d.at.Before(next) || (kind == -1 && d.at.Equal(next)) {
				next, kind, who = d.at, 1, qi
			}
		}
		if kind == -1 {
			sm.now = until
			return
		}
		if next.After(sm.now) {
			sm.now = next
		}
		if kind == 0 {
			sm.inject(who, Event{Kind: EventTimer})
			continue
		}
		d := sm.queue[who]
		sm.queue = slices.Delete(sm.queue, who, who+1)
		var p ControlPacket
		if err := p.UnmarshalBinary(d.raw); err != nil {
			sm.t.Fatal(err)
		}
		sm.inject(d.to, Event{Kind: EventPacket, Packet: &p, Raw: d.raw, TTL: sm.n[1-d.to].ttl})
	}
	sm.t.Fatal("simulation did not finish")
}

func (sm *sim) runFor(d time.Duration) { sm.run(sm.now.Add(d)) }

func states(tr []Transition) []State {
	var out []State
	for _, t := range tr {
		out = append(out, t.To)
	}
	return out
}

func TestHandshake(t *testing.T) {
	for _, tt := range []struct {
		name   string
		da, db uint32
	}{
		{"distinct discriminators", 0x1111, 0x2222},
		{"same discriminator", 7, 7},
		{"random discriminators", 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sm := newSim(t, Config{LocalDiscriminator: tt.da}, Config{LocalDiscriminator: tt.db})
			sm.runFor(5 * time.Second)
			for i, n := range sm.n {
				if n.s.State() != StateUp {
					t.Fatalf("node %d state %v, want Up", i, n.s.State())
				}
				if diff := cmp.Diff([]State{StateInit, StateUp}, states(n.trans)); diff != "" && !slices.Equal(states(n.trans), []State{StateUp}) {
					t.Errorf("node %d transitions (-want +got):\n%s", i, diff)
				}
				st := n.s.Status()
				if st.RemoteDiscriminator != sm.n[1-i].s.LocalDiscriminator() {
					t.Errorf("node %d remote discr %d, want %d", i, st.RemoteDiscriminator, sm.n[1-i].s.LocalDiscriminator())
				}
				if st.Polling {
					t.Errorf("node %d still polling after 5 s", i)
				}
				if st.TxInterval != 300*time.Millisecond || st.DetectionTime != 900*time.Millisecond {
					t.Errorf("node %d tx %v detect %v, want 300ms/900ms", i, st.TxInterval, st.DetectionTime)
				}
				for _, tr := range n.trans {
					if tr.Reason == ReasonNone || tr.At.IsZero() {
						t.Errorf("transition without reason or time: %+v", tr)
					}
				}
			}
		})
	}
}

// TestSlowTxUntilUp checks the 1 s floor while not Up and the jittered
// negotiated interval afterwards (RFC 5880 §6.8.3, §6.8.7).
func TestSlowTxUntilUp(t *testing.T) {
	sm := newSim(t, Config{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond},
		Config{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond})
	sm.n[1].up = false // B's packets are lost: A never comes Up
	sm.runFor(10 * time.Second)
	a := sm.n[0]
	if a.s.State() == StateUp {
		t.Fatal("A came Up without hearing B")
	}
	for i := 1; i < len(a.sent); i++ {
		if gap := a.sent[i].at.Sub(a.sent[i-1].at); gap < 750*time.Millisecond {
			t.Fatalf("gap %v between packets while not Up, want >= 750ms", gap)
		}
		if a.sent[i].p.DesiredMinTxInterval != time.Second {
			t.Fatalf("advertised desired min tx %v while not Up, want 1s", a.sent[i].p.DesiredMinTxInterval)
		}
	}
	sm.n[1].up = true
	sm.runFor(5 * time.Second)
	if a.s.State() != StateUp {
		t.Fatalf("A state %v, want Up", a.s.State())
	}
	start := len(a.sent) - 20
	for i := start + 1; i < len(a.sent); i++ {
		gap := a.sent[i].at.Sub(a.sent[i-1].at)
		if a.sent[i].p.Final {
			continue
		}
		if gap < 37500*time.Microsecond || gap > 50*time.Millisecond {
			t.Fatalf("gap %v when Up at 50 ms, want 37.5–50 ms", gap)
		}
	}
}

func TestJitter(t *testing.T) {
	for _, tt := range []struct {
		mult   uint8
		lo, hi int64
	}{{3, 75, 100}, {1, 75, 90}} {
		s, err := NewSession(Config{DetectMultiplier: tt.mult, Rand: rand.NewPCG(1, 2)})
		if err != nil {
			t.Fatal(err)
		}
		seenLo, seenHi := false, false
		for range 2000 {
			got := int64(s.jitter(100*time.Millisecond) / time.Millisecond)
			if got < tt.lo || got > tt.hi {
				t.Fatalf("mult %d: jittered 100ms to %dms, want %d..%d", tt.mult, got, tt.lo, tt.hi)
			}
			seenLo = seenLo || got == tt.lo
			seenHi = seenHi || got == tt.hi
		}
		if !seenLo || !seenHi {
			t.Errorf("mult %d: range ends not reached (lo %v hi %v)", tt.mult, seenLo, seenHi)
		}
	}
}

func TestDetectionExpired(t *testing.T) {
	sm := newSim(t, Config{}, Config{})
	sm.runFor(5 * time.Second)
	a, b := sm.n[0], sm.n[1]
	lastFromB := b.sent[len(b.sent)-1].at
	b.up = false
	sm.runFor(2 * time.Second)
	if a.s.State() != StateDown {
		t.Fatalf("A state %v, want Down", a.s.State())
	}
	tr := a.trans[len(a.trans)-1]
	if tr.Diag != DiagControlDetectExpired || tr.Reason != ReasonDetectExpired {
		t.Errorf("transition %+v, want diag 1 / detection expired", tr)
	}
	// The last packet from B reached A 1 ms after it was sent.
	if got, want := tr.At.Sub(lastFromB.Add(sm.delay)), 900*time.Millisecond; got != want {
		t.Errorf("detected %v after the last packet, want %v", got, want)
	}
	if st := a.s.Status(); st.RemoteDiscriminator != 0 {
		t.Errorf("remote discriminator %d after expiry, want 0", st.RemoteDiscriminator)
	}
	// B hears A's Down and goes Down with diag 3.
	if b.s.State() != StateDown && b.s.State() != StateInit {
		t.Errorf("B state %v, want Down or Init", b.s.State())
	}
	if b.trans[len(b.trans)-1].Diag != DiagNeighborDown && b.trans[len(b.trans)-1].To != StateInit {
		t.Errorf("B transitions %+v", b.trans)
	}
	b.up = true
	sm.runFor(5 * time.Second)
	if a.s.State() != StateUp || b.s.State() != StateUp {
		t.Errorf("after repair: A %v B %v, want Up Up", a.s.State(), b.s.State())
	}
}

func TestPollSequenceOnTimerChange(t *testing.T) {
	sm := newSim(t, Config{}, Config{})
	sm.runFor(5 * time.Second)
	a, b := sm.n[0], sm.n[1]
	mark := len(a.sent)
	sm.inject(0, Event{Kind: EventSetTimers, Timers: Timers{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond, DetectMultiplier: 5}})
	if !a.s.Status().Polling {
		t.Fatal("A not polling after a timer change")
	}
	sm.runFor(2 * time.Second)
	sawPoll := false
	for _, s := range a.sent[mark:] {
		sawPoll = sawPoll || s.p.Poll
	}
	sawFinal := false
	for _, s := range b.sent {
		sawFinal = sawFinal || s.p.Final
	}
	if !sawPoll || !sawFinal {
		t.Fatalf("poll %v final %v, want both", sawPoll, sawFinal)
	}
	if a.s.Status().Polling {
		t.Error("A still polling")
	}
	sa, sb := a.s.Status(), b.s.Status()
	// A sends at max(50ms, B's 300ms rx); B detects A within 5×300ms.
	if sa.TxInterval != 300*time.Millisecond || sb.RemoteDetectMultiplier != 5 || sb.DetectionTime != 1500*time.Millisecond {
		t.Errorf("A tx %v; B remote mult %d detect %v", sa.TxInterval, sb.RemoteDetectMultiplier, sb.DetectionTime)
	}
	sm.inject(1, Event{Kind: EventSetTimers, Timers: Timers{DesiredMinTxInterval: 50 * time.Millisecond, RequiredMinRxInterval: 50 * time.Millisecond}})
	sm.runFor(2 * time.Second)
	sa, sb = a.s.Status(), b.s.Status()
	if sa.TxInterval != 50*time.Millisecond || sb.TxInterval != 50*time.Millisecond {
		t.Errorf("tx intervals A %v B %v, want 50ms", sa.TxInterval, sb.TxInterval)
	}
	if sa.DetectionTime != 150*time.Millisecond || sb.DetectionTime != 250*time.Millisecond {
		t.Errorf("detection A %v B %v, want 150ms 250ms", sa.DetectionTime, sb.DetectionTime)
	}
}

// TestPollRules checks that a larger tx interval and a smaller rx interval
// wait for the Final (RFC 5880 §6.8.3).
func TestPollRules(t *testing.T) {
	sm := newSim(t, Config{}, Config{})
	sm.runFor(5 * time.Second)
	a := sm.n[0]
	a.up = false // A's polls are lost: no Final comes back
	sm.inject(0, Event{Kind: EventSetTimers, Timers: Timers{DesiredMinTxInterval: 600 * time.Millisecond, RequiredMinRxInterval: 100 * time.Millisecond}})
	if a.s.txInUse != 300*time.Millisecond || a.s.rxInUse != 300*time.Millisecond {
		t.Errorf("in use before Final: tx %v rx %v, want 300ms 300ms", a.s.txInUse, a.s.rxInUse)
	}
	if st := a.s.Status(); st.DesiredMinTxInterval != 600*time.Millisecond || st.RequiredMinRxInterval != 100*time.Millisecond {
		t.Errorf("advertised %v %v", st.DesiredMinTxInterval, st.RequiredMinRxInterval)
	}
	a.up = true
	sm.runFor(2 * time.Second)
	if a.s.txInUse != 600*time.Millisecond || a.s.rxInUse != 100*time.Millisecond || a.s.Status().Polling {
		t.Errorf("after Final: tx %v rx %v polling %v", a.s.txInUse, a.s.rxInUse, a.s.Status().Polling)
	}
}

func TestPassive(t *testing.T) {
	sm := newSim(t, Config{Passive: true}, Config{Passive: true})
	sm.runFor(5 * time.Second)
	if len(sm.n[0].sent)+len(sm.n[1].sent) != 0 {
		t.Fatal("two passive sessions sent packets")
	}
	sm = newSim(t, Config{Passive: true}, Config{})
	sm.runFor(5 * time.Second)
	if sm.n[0].s.State() != StateUp || sm.n[1].s.State() != StateUp {
		t.Fatalf("passive/active: %v %v, want Up Up", sm.n[0].s.State(), sm.n[1].s.State())
	}
	if first := sm.n[0].sent[0].at; first.Before(sm.n[1].sent[0].at) {
		t.Error("passive side sent first")
	}
}

func TestAdminDown(t *testing.T) {
	sm := newSim(t, Config{}, Config{})
	sm.runFor(5 * time.Second)
	a, b := sm.n[0], sm.n[1]
	sm.inject(0, Event{Kind: EventAdminDown})
	if a.s.State() != StateAdminDown || a.trans[len(a.trans)-1].Diag != DiagAdminDown {
		t.Fatalf("A %v %+v", a.s.State(), a.trans[len(a.trans)-1])
	}
	if last := a.sent[len(a.sent)-1]; last.at != sm.now || last.p.State != StateAdminDown {
		t.Errorf("no immediate AdminDown packet: %+v", last)
	}
	sm.runFor(3 * time.Second)
	if b.s.State() != StateDown {
		t.Fatalf("B %v, want Down", b.s.State())
	}
	if tr := b.trans[len(b.trans)-1]; tr.Diag != DiagNeighborDown || tr.Reason != ReasonRemoteAdminDown {
		t.Errorf("B transition %+v", tr)
	}
	if a.s.Stats().Dropped[DropAdminDown] == 0 {
		t.Error("A did not count packets dropped while AdminDown")
	}
	sm.inject(0, Event{Kind: EventAdminDown}) // no-op
	sm.inject(0, Event{Kind: EventAdminUp})
	sm.inject(0, Event{Kind: EventAdminUp}) // no-op
	sm.runFor(5 * time.Second)
	if a.s.State() != StateUp || b.s.State() != StateUp {
		t.Errorf("after AdminUp: %v %v", a.s.State(), b.s.State())
	}
	s, _ := NewSession(Config{AdminDown: true})
	if s.State() != StateAdminDown {
		t.Errorf("Config.AdminDown: state %v", s.State())
	}
}

func TestAuthSessions(t *testing.T) {
	for _, tt := range []struct {
		name     string
		a, b     AuthConfig
		wantUp   bool
		wantDrop DropReason
	}{
		{"simple", AuthConfig{AuthSimplePassword, 1, []byte("pw")}, AuthConfig{AuthSimplePassword, 1, []byte("pw")}, true, DropNone},
		{"md5", AuthConfig{AuthKeyedMD5, 2, []byte("k")}, AuthConfig{AuthKeyedMD5, 2, []byte("k")}, true, DropNone},
		{"meticulous md5", AuthConfig{AuthMeticulousKeyedMD5, 2, []byte("k")}, AuthConfig{AuthMeticulousKeyedMD5, 2, []byte("k")}, true, DropNone},
		{"sha1", AuthConfig{AuthKeyedSHA1, 3, []byte("k")}, AuthConfig{AuthKeyedSHA1, 3, []byte("k")}, true, DropNone},
		{"meticulous sha1", AuthConfig{AuthMeticulousKeyedSHA1, 3, []byte("k")}, AuthConfig{AuthMeticulousKeyedSHA1, 3, []byte("k")}, true, DropNone},
		{"wrong key", AuthConfig{AuthKeyedSHA1, 3, []byte("k")}, AuthConfig{AuthKeyedSHA1, 3, []byte("x")}, false, DropAuthFailed},
		{"wrong key id", AuthConfig{AuthKeyedSHA1, 3, []byte("k")}, AuthConfig{AuthKeyedSHA1, 4, []byte("k")}, false, DropAuthType},
		{"wrong type", AuthConfig{AuthKeyedMD5, 3, []byte("k")}, AuthConfig{AuthKeyedSHA1, 3, []byte("k")}, false, DropAuthType},
		{"one side only", AuthConfig{AuthKeyedMD5, 3, []byte("k")}, AuthConfig{}, false, DropAuthMissing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sm := newSim(t, Config{Auth: tt.a}, Config{Auth: tt.b})
			sm.runFor(5 * time.Second)
			a := sm.n[0]
			if up := a.s.State() == StateUp; up != tt.wantUp {
				t.Fatalf("A state %v", a.s.State())
			}
			if tt.wantDrop != DropNone && a.s.Stats().Dropped[tt.wantDrop] == 0 {
				t.Errorf("A drops %v, want some %v", a.s.Stats().Dropped, tt.wantDrop)
			}
			if tt.name == "one side only" && sm.n[1].s.Stats().Dropped[DropAuthUnexpected] == 0 {
				t.Error("B did not count unexpected auth")
			}
		})
	}
}

func TestAuthReplay(t *testing.T) {
	for _, typ := range []AuthType{AuthMeticulousKeyedMD5, AuthMeticulousKeyedSHA1, AuthKeyedMD5} {
		ac := AuthConfig{Type: typ, KeyID: 1, Key: []byte("key")}
		sm := newSim(t, Config{Auth: ac}, Config{Auth: ac})
		sm.runFor(5 * time.Second)
		b := sm.n[1]
		last := b.sent[len(b.sent)-1]
		raw, err := b.s.AppendPacket(nil, &last.p)
		if err != nil {
			t.Fatal(err)
		}
		// Re-sign with a stale sequence number far behind.
		seq, _ := sequence(last.p.Auth)
		setSequence(last.p.Auth, seq-100)
		raw, _ = b.s.AppendPacket(raw[:0], &last.p)
		var p ControlPacket
		_ = p.UnmarshalBinary(raw)
		sm.inject(0, Event{Kind: EventPacket, Packet: &p, Raw: raw, TTL: 255})
		if sm.n[0].s.Stats().Dropped[DropAuthSequence] != 1 {
			t.Errorf("%v: replayed sequence not dropped: %v", typ, sm.n[0].s.Stats().Dropped)
		}
		// Missing raw bytes cannot be verified.
		sm.inject(0, Event{Kind: EventPacket, Packet: &p, TTL: 255})
		if sm.n[0].s.Stats().Dropped[DropAuthFailed] != 1 {
			t.Errorf("%v: packet without raw bytes not dropped", typ)
		}
		// After twice the detection time of silence any sequence is accepted.
		sm.n[1].up = false
		sm.runFor(3 * time.Second)
		sm.inject(0, Event{Kind: EventPacket, Packet: &p, Raw: raw, TTL: 255})
		if sm.n[0].s.Stats().Dropped[DropAuthSequence] != 1 {
			t.Errorf("%v: sequence not forgotten after silence", typ)
		}
	}
}

func TestReceiveDrops(t *testing.T) {
	base := ControlPacket{State: StateDown, DetectMult: 3, MyDiscriminator: 9,
		DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second}
	tests := []struct {
		name string
		mod  func(p *ControlPacket)
		ttl  uint8
		cfg  Config
		want DropReason
	}{
		{"ttl", func(*ControlPacket) {}, 254, Config{}, DropTTL},
		{"ttl multihop ok", func(*ControlPacket) {}, 3, Config{MinTTL: 1}, DropNone},
		{"ttl unknown", func(*ControlPacket) {}, 0, Config{}, DropNone},
		{"detect mult", func(p *ControlPacket) { p.DetectMult = 0 }, 255, Config{}, DropDetectMultZero},
		{"multipoint", func(p *ControlPacket) { p.Multipoint = true }, 255, Config{}, DropMultipoint},
		{"my discr", func(p *ControlPacket) { p.MyDiscriminator = 0 }, 255, Config{}, DropMyDiscriminatorZero},
		{"your discr", func(p *ControlPacket) { p.YourDiscriminator = 2 }, 255, Config{}, DropYourDiscriminatorMismatch},
		{"your discr zero while up", func(p *ControlPacket) { p.State = StateUp }, 255, Config{}, DropYourDiscriminatorZero},
		{"your discr zero while init", func(p *ControlPacket) { p.State = StateInit }, 255, Config{}, DropYourDiscriminatorZero},
		{"your discr zero admin down ok", func(p *ControlPacket) { p.State = StateAdminDown }, 255, Config{}, DropNone},
		{"auth unexpected", func(p *ControlPacket) { p.Auth = &SimplePassword{Password: []byte("x")} }, 255, Config{}, DropAuthUnexpected},
		{"auth missing", func(*ControlPacket) {}, 255, Config{Auth: AuthConfig{AuthSimplePassword, 0, []byte("x")}}, DropAuthMissing},
		{"admin down", func(*ControlPacket) {}, 255, Config{AdminDown: true}, DropAdminDown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.LocalDiscriminator = 1
			s, err := NewSession(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := base
			tt.mod(&p)
			s.Handle(t0, Event{Kind: EventPacket, Packet: &p, TTL: tt.ttl})
			st := s.Stats()
			if tt.want == DropNone {
				if st.Received != 1 {
					t.Errorf("not accepted: drops %v", st.Dropped)
				}
				return
			}
			if st.Dropped[tt.want] != 1 || st.Received != 0 {
				t.Errorf("drops %v received %d, want one %v", st.Dropped, st.Received, tt.want)
			}
		})
	}
}

func TestStateTable(t *testing.T) {
	// From each local state, what a received remote state does (§6.8.6).
	tests := []struct {
		from, remote, want State
		diag               Diag
	}{
		{StateDown, StateDown, StateInit, DiagNone},
		{StateDown, StateInit, StateUp, DiagNone},
		{StateDown, StateUp, StateDown, DiagNone},
		{StateDown, StateAdminDown, StateDown, DiagNone},
		{StateInit, StateInit, StateUp, DiagNone},
		{StateInit, StateUp, StateUp, DiagNone},
		{StateInit, StateDown, StateInit, DiagNone},
		{StateInit, StateAdminDown, StateDown, DiagNeighborDown},
		{StateUp, StateDown, StateDown, DiagNeighborDown},
		{StateUp, StateAdminDown, StateDown, DiagNeighborDown},
		{StateUp, StateUp, StateUp, DiagNone},
		{StateUp, StateInit, StateUp, DiagNone},
	}
	for _, tt := range tests {
		t.Run(tt.from.String()+"+"+tt.remote.String(), func(t *testing.T) {
			s, _ := NewSession(Config{LocalDiscriminator: 1})
			s.state = tt.from
			p := ControlPacket{State: tt.remote, DetectMult: 3, MyDiscriminator: 5, YourDiscriminator: 1,
				DesiredMinTxInterval: time.Second, RequiredMinRxInterval: time.Second}
			s.Handle(t0, Event{Kind: EventPacket, Packet: &p, TTL: 255})
			if s.State() != tt.want || s.localDiag != tt.diag {
				t.Errorf("state %v diag %v, want %v %v", s.State(), s.localDiag, tt.want, tt.diag)
			}
		})
	}
}

func TestDemandMode(t *testing.T) {
	sm := newSim(t, Config{Demand: true}, Config{})
	sm.runFor(5 * time.Second)
	a, b := sm.n[0], sm.n[1]
	if a.s.State() != StateUp || !a.s.Status().DemandMode || !b.s.Status().RemoteDemandMode {
		t.Fatalf("demand not active: %+v / %+v", a.s.Status(), b.s.Status())
	}
	mark := len(b.sent)
	sm.runFor(10 * time.Second)
	if n := len(b.sent) - mark; n != 0 {
		t.Errorf("B sent %d periodic packets in demand mode", n)
	}
	if a.s.State() != StateUp {
		t.Fatalf("A went %v while B was silent in demand mode", a.s.State())
	}
	// A poll verifies connectivity: B answers with a Final.
	sm.inject(0, Event{Kind: EventPoll})
	sm.runFor(time.Second)
	if len(b.sent) == mark || !b.sent[len(b.sent)-1].p.Final {
		t.Fatal("B did not answer the poll")
	}
	if a.s.Status().Polling {
		t.Error("A still polling after the Final")
	}
	// A poll that gets no answer brings the session down.
	b.up = false
	sm.inject(0, Event{Kind: EventPoll})
	sm.runFor(3 * time.Second)
	if a.s.State() != StateDown {
		t.Errorf("A %v after an unanswered poll, want Down", a.s.State())
	}
}

func TestRemoteMinRxZero(t *testing.T) {
	s, _ := NewSession(Config{LocalDiscriminator: 1})
	s.Handle(t0, Event{Kind: EventTimer})
	p := ControlPacket{State: StateDown, DetectMult: 3, MyDiscriminator: 5, DesiredMinTxInterval: time.Second}
	s.Handle(t0, Event{Kind: EventPacket, Packet: &p})
	if !s.nextTx.IsZero() {
		t.Errorf("periodic tx scheduled although the peer wants none")
	}
	if acts := s.Handle(t0.Add(time.Hour), Event{Kind: EventTimer}); len(acts) != 1 || acts[0].Kind != ActionTransition {
		t.Errorf("actions %+v", acts)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{
		{DesiredMinTxInterval: -1},
		{RequiredMinRxInterval: maxInterval + time.Second},
		{Auth: AuthConfig{Type: 9}},
		{Auth: AuthConfig{Type: AuthKeyedMD5}},
	} {
		if _, err := NewSession(c); err == nil {
			t.Errorf("NewSession(%+v) accepted", c)
		}
	}
	s, err := NewSession(Config{})
	if err != nil || s.LocalDiscriminator() == 0 {
		t.Fatalf("zero config: %v %d", err, s.LocalDiscriminator())
	}
	if !s.NextDeadline().IsZero() {
		t.Error("unstarted session has a deadline")
	}
}

func TestEventPollWithoutPeerIgnored(t *testing.T) {
	s, _ := NewSession(Config{})
	s.Handle(t0, Event{Kind: EventPoll})
	if s.Status().Polling {
		t.Error("polling without a peer")
	}
	s.Handle(t0, Event{Kind: EventPacket}) // nil packet: ignored
}

// upStep returns a step of a session that is Up with its peer: time moves
// 100 ms on, the session gets a packet from the peer and a timer event.
func upStep(tb testing.TB) func() {
	sm := newSim(tb, Config{}, Config{})
	sm.runFor(5 * time.Second)
	a := sm.n[0].s
	p := ControlPacket{State: StateUp, DetectMult: 3, MyDiscriminator: sm.n[1].s.LocalDiscriminator(),
		YourDiscriminator: a.LocalDiscriminator(), DesiredMinTxInterval: 300 * time.Millisecond, RequiredMinRxInterval: 300 * time.Millisecond}
	now := sm.now
	return func() {
		now = now.Add(100 * time.Millisecond)
		a.Handle(now, Event{Kind: EventPacket, Packet: &p, TTL: 255})
		a.Handle(now, Event{Kind: EventTimer})
	}
}

func TestSessionHandleNoAllocs(t *testing.T) {
	if allocs := testing.AllocsPerRun(200, upStep(t)); allocs != 0 {
		t.Errorf("Handle allocates %v times", allocs)
	}
}

func BenchmarkSessionHandle(b *testing.B) {
	step := upStep(b)
	b.ReportAllocs()
	for b.Loop() {
		step()
	}
}

// TestSimRandomized runs seeded scenarios (random timers, delay, a lossy
// phase, a one- or two-way partition, a repair) and checks the invariants:
// a clean link brings both sides Up with the poll finished within a bound;
// a cut link takes every side that cannot hear its peer out of Up within
// the detection time; repair brings both back. The seed is in the name.
func TestSimRandomized(t *testing.T) {
	ivs := []time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond, time.Second}
	seeds := 500
	if testing.Short() {
		seeds = 20
	}
	for seed := range uint64(seeds) {
		r := rand.New(rand.NewPCG(seed, 7))
		cfg := func(i uint64) Config {
			return Config{DesiredMinTxInterval: ivs[r.IntN(len(ivs))], RequiredMinRxInterval: ivs[r.IntN(len(ivs))],
				DetectMultiplier: uint8(1 + r.IntN(5)), Rand: rand.NewPCG(seed, i)}
		}
		ca, cb := cfg(1), cfg(2)
		sm := newSim(t, ca, cb)
		sm.delay = time.Duration(r.IntN(5)) * time.Millisecond
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d (A %+v B %+v delay %v): %s\nA %+v\nB %+v", seed, ca, cb, sm.delay, fmt.Sprintf(format, args...),
				sm.n[0].s.Status(), sm.n[1].s.Status())
		}
		// The worst detection time: multiplier 5 × 1 s.
		const converge = 20 * time.Second
		const detect = 5*time.Second + 10*time.Millisecond

		loss := r.IntN(60)
		sm.drop = func(int) bool { return r.IntN(100) < loss }
		sm.runFor(time.Duration(r.IntN(5000)) * time.Millisecond)
		sm.drop = nil
		sm.runFor(converge)
		for i, n := range sm.n {
			if st := n.s.Status(); st.State != StateUp || st.Polling {
				fail("node %d not Up and settled after a clean %v (loss was %d%%)", i, converge, loss)
			}
		}
		// Cut A→B, B→A or both.
		cut := r.IntN(3)
		if cut != 1 {
			sm.n[0].up = false
		}
		if cut != 0 {
			sm.n[1].up = false
		}
		sm.runFor(detect)
		for i, n := range sm.n {
			deaf := !sm.n[1-i].up // i hears nothing
			if deaf && n.s.State() == StateUp {
				fail("node %d still Up %v after its peer went silent", i, detect)
			}
			if deaf {
				last := n.trans[len(n.trans)-1]
				if last.Diag != DiagControlDetectExpired && last.Diag != DiagNeighborDown {
					fail("node %d went down with %v", i, last.Diag)
				}
			}
		}
		sm.n[0].up, sm.n[1].up = true, true
		sm.runFor(converge)
		for i, n := range sm.n {
			if st := n.s.Status(); st.State != StateUp || st.Polling {
				fail("node %d not Up and settled %v after repair", i, converge)
			}
		}
	}
}
