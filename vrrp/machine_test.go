package vrrp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ourAddr = netip.MustParseAddr("192.0.2.1")
	hiPeer  = netip.MustParseAddr("192.0.2.2") // higher address than ours
	loPeer  = netip.MustParseAddr("192.0.2.0") // lower address than ours
)

func baseConfig() Config {
	return Config{Name: "VI_1", VRID: 51, Priority: 100, Source: ourAddr, Addrs: []netip.Addr{vip4}}
}

// rig steps a Machine with explicit times and records copies of actions.
type rig struct {
	t    *testing.T
	m    *Machine
	now  time.Time
	log  []Action
	cfg  Config
	last []Action
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	m, err := NewMachine(cfg)
	if err != nil {
		t.Fatalf("NewMachine: %v", err)
	}
	return &rig{t: t, m: m, now: t0, cfg: m.Config()}
}

func (r *rig) record(acts []Action) []Action {
	out := make([]Action, len(acts))
	for i, a := range acts {
		a.Payload = slices.Clone(a.Payload)
		out[i] = a
	}
	r.log = append(r.log, out...)
	r.last = out
	return out
}

func (r *rig) do(ev Event) []Action { return r.record(r.m.Handle(r.now, ev)) }

func (r *rig) start() []Action { return r.do(Event{Kind: EventStart}) }

// advance moves time forward by d, firing every timer that expires on the
// way, and returns all actions.
func (r *rig) advance(d time.Duration) []Action {
	end := r.now.Add(d)
	var all []Action
	for i := 0; i < 100000; i++ {
		dl := r.m.NextDeadline()
		if dl.IsZero() || dl.After(end) {
			break
		}
		r.now = dl
		all = append(all, r.do(Event{Kind: EventTimer})...)
	}
	r.now = end
	r.last = all
	return all
}

func (r *rig) state(want State) {
	r.t.Helper()
	if got := r.m.State(); got != want {
		r.t.Fatalf("state = %v, want %v", got, want)
	}
}

// advert builds a received advertisement from a peer like our config but
// with the changes made by mod.
type advOpt func(p *Packet, m *Meta)

func (r *rig) advert(prio uint8, opts ...advOpt) Event {
	r.t.Helper()
	c := r.cfg
	p := Packet{Version: uint8(c.Version), Type: 1, VRID: c.VRID, Priority: prio, AdvertInterval: c.AdvertInterval, Addrs: c.Addrs,
		AuthType: c.AuthType}
	copy(p.AuthData[:], c.AuthPass)
	dst := MulticastGroup4
	if c.Source.Is6() {
		dst = MulticastGroup6
	}
	m := Meta{Src: hiPeer, Dst: dst, TTL: 255, IfIndex: 2}
	if c.Source.Is6() {
		m.Src = netip.MustParseAddr("fe80::2")
	}
	for _, o := range opts {
		o(&p, &m)
	}
	src, d := m.Src, m.Dst
	if p.Version == 2 {
		src, d = netip.Addr{}, netip.Addr{}
	}
	b, err := p.AppendChecksummed(nil, src, d)
	if err != nil {
		r.t.Fatalf("advert: %v", err)
	}
	return Event{Kind: EventPacket, Payload: b, Meta: m}
}

func from(a netip.Addr) advOpt        { return func(_ *Packet, m *Meta) { m.Src = a } }
func interval(d time.Duration) advOpt { return func(p *Packet, _ *Meta) { p.AdvertInterval = d } }
func ttl(n int) advOpt                { return func(_ *Packet, m *Meta) { m.TTL = n } }
func vrid(n uint8) advOpt             { return func(p *Packet, _ *Meta) { p.VRID = n } }
func addrs(a ...netip.Addr) advOpt    { return func(p *Packet, _ *Meta) { p.Addrs = a } }
func auth(t AuthType, pass string) advOpt {
	return func(p *Packet, _ *Meta) { p.AuthType = t; p.AuthData = [8]byte{}; copy(p.AuthData[:], pass) }
}

func sends(acts []Action) []Packet {
	var out []Packet
	for _, a := range acts {
		if a.Kind == ActionSend {
			var p Packet
			if err := p.Decode(a.Payload, a.Dst.Is6()); err != nil {
				panic(err)
			}
			out = append(out, p)
		}
	}
	return out
}

func transitions(acts []Action) []Transition {
	var out []Transition
	for _, a := range acts {
		if a.Kind == ActionTransition {
			out = append(out, a.Transition)
		}
	}
	return out
}

func (r *rig) wantTransition(acts []Action, from, to State, reason Reason) {
	r.t.Helper()
	tr := transitions(acts)
	if len(tr) != 1 || tr[0].From != from || tr[0].To != to || tr[0].Reason != reason {
		r.t.Fatalf("transitions = %+v, want one %v->%v (%v)", tr, from, to, reason)
	}
}

func (r *rig) wantNoTransition(acts []Action) {
	r.t.Helper()
	if tr := transitions(acts); len(tr) != 0 {
		r.t.Fatalf("unexpected transitions %+v", tr)
	}
}

func (r *rig) wantSendPrio(acts []Action, prios ...uint8) {
	r.t.Helper()
	var got []uint8
	for _, p := range sends(acts) {
		got = append(got, p.Priority)
	}
	if diff := cmp.Diff(prios, got); diff != "" {
		r.t.Fatalf("sent priorities (-want +got):\n%s", diff)
	}
}

// toMaster starts r's machine and lets it become master by timeout.
func (r *rig) toMaster() {
	r.t.Helper()
	r.start()
	r.advance(r.m.MasterDownInterval())
	r.state(StateMaster)
}

func TestMachineStartup(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Config)
		want   State
		reason Reason
		sends  int
	}{
		{"default backup", func(*Config) {}, StateBackup, ReasonStartup, 0},
		{"state MASTER below 255 still waits", func(c *Config) { c.InitialState = StateMaster }, StateBackup, ReasonStartup, 0},
		{"owner becomes master at once", func(c *Config) { c.Priority = 255 }, StateMaster, ReasonOwner, 1},
		{"owner with state MASTER", func(c *Config) { c.Priority = 255; c.InitialState = StateMaster }, StateMaster, ReasonOwner, 1},
		{"owner with state BACKUP waits", func(c *Config) { c.Priority = 255; c.InitialState = StateBackup }, StateBackup, ReasonStartup, 0},
		{"tracked object down faults", func(c *Config) { c.Track = []TrackedObject{{Name: "eth0"}, {Name: "chk", Reverse: true}} }, StateFault, ReasonFault, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.mod(&c)
			r := newRig(t, c)
			acts := r.start()
			r.wantTransition(acts, StateInit, tt.want, tt.reason)
			if n := len(sends(acts)); n != tt.sends {
				t.Fatalf("sent %d adverts, want %d", n, tt.sends)
			}
			if r.m.State() == StateMaster && r.m.NextDeadline() != t0.Add(time.Second) {
				t.Fatalf("adver timer %v", r.m.NextDeadline())
			}
			if acts := r.start(); len(acts) != 0 {
				t.Fatalf("second start: %+v", acts)
			}
		})
	}
}

func TestMachineTimers(t *testing.T) {
	tests := []struct {
		name     string
		cfg      func(*Config)
		wantSkew time.Duration
		wantMDI  time.Duration
	}{
		{"v3 1s prio 100", func(*Config) {}, 609375 * time.Microsecond, 3609375 * time.Microsecond},
		{"v3 100ms prio 150", func(c *Config) { c.AdvertInterval = 100 * time.Millisecond; c.Priority = 150 },
			41406250, 341406250},
		{"v2 1s prio 150", func(c *Config) { c.Version = 2; c.Priority = 150 }, 414062500, 3414062500},
		{"v2 3s prio 1", func(c *Config) { c.Version = 2; c.Priority = 1; c.AdvertInterval = 3 * time.Second }, 996093750, 9996093750},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.cfg(&c)
			r := newRig(t, c)
			if got := r.m.SkewTime(); got != tt.wantSkew {
				t.Errorf("SkewTime = %v, want %v", got, tt.wantSkew)
			}
			if got := r.m.MasterDownInterval(); got != tt.wantMDI {
				t.Errorf("MasterDownInterval = %v, want %v", got, tt.wantMDI)
			}
			r.start()
			if got := r.m.NextDeadline().Sub(t0); got != tt.wantMDI {
				t.Errorf("master down timer in %v, want %v", got, tt.wantMDI)
			}
			acts := r.advance(tt.wantMDI - 1)
			r.wantNoTransition(acts)
			acts = r.advance(1)
			r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterDown)
			r.wantSendPrio(acts, r.m.Priority())
			// Master sends every AdvertInterval.
			ai := r.cfg.AdvertInterval
			acts = r.advance(10 * ai)
			if n := len(sends(acts)); n != 10 {
				t.Fatalf("master sent %d adverts in 10 intervals", n)
			}
		})
	}
}

func TestMachineBackupReceive(t *testing.T) {
	t.Run("higher priority resets master down timer", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		for range 10 {
			r.advance(time.Second)
			r.wantNoTransition(r.do(r.advert(200)))
		}
		r.state(StateBackup)
		if got := r.m.NextDeadline().Sub(r.now); got != r.m.MasterDownInterval() {
			t.Fatalf("timer %v", got)
		}
	})
	t.Run("equal priority resets the timer", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.advance(3 * time.Second)
		r.do(r.advert(100, from(loPeer)))
		r.advance(3 * time.Second)
		r.state(StateBackup)
	})
	t.Run("v3 learns the master's interval", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.do(r.advert(200, interval(100*time.Millisecond)))
		if got := r.m.MasterAdvertInterval(); got != 100*time.Millisecond {
			t.Fatalf("Master_Adver_Interval = %v", got)
		}
		want := 300*time.Millisecond + 156*100*time.Millisecond/256
		if got := r.m.NextDeadline().Sub(r.now); got != want {
			t.Fatalf("master down in %v, want %v", got, want)
		}
		acts := r.advance(want)
		r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterDown)
		// Our own interval is still the configured one.
		if got := r.m.NextDeadline().Sub(r.now); got != time.Second {
			t.Fatalf("adver timer %v", got)
		}
	})
	t.Run("priority 0 makes backup wait only skew", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.do(r.advert(200))
		r.advance(time.Second)
		r.do(r.advert(0))
		if got := r.m.NextDeadline().Sub(r.now); got != r.m.SkewTime() {
			t.Fatalf("timer %v, want skew %v", got, r.m.SkewTime())
		}
		acts := r.advance(r.m.SkewTime())
		r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterStopped)
		if s := r.m.Stats(); s.PriorityZeroReceived != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("preempt lower-priority master", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		var acts []Action
		for range 5 {
			acts = append(acts, r.advance(time.Second)...)
			r.do(r.advert(50))
			if r.m.State() == StateMaster {
				break
			}
		}
		r.wantTransition(acts, StateBackup, StateMaster, ReasonPreempt)
	})
	t.Run("nopreempt keeps lower-priority master", func(t *testing.T) {
		c := baseConfig()
		c.NoPreempt = true
		r := newRig(t, c)
		r.start()
		for range 20 {
			r.wantNoTransition(r.advance(time.Second))
			r.do(r.advert(50))
		}
		r.state(StateBackup)
	})
	t.Run("preempt_delay", func(t *testing.T) {
		c := baseConfig()
		c.PreemptDelay = 10 * time.Second
		r := newRig(t, c)
		r.start()
		for range 10 {
			r.wantNoTransition(r.advance(time.Second))
			r.do(r.advert(50))
		}
		r.state(StateBackup)
		// After the delay, lower-priority adverts are discarded.
		var acts []Action
		for range 5 {
			acts = append(acts, r.advance(time.Second)...)
			r.do(r.advert(50))
		}
		r.wantTransition(acts, StateBackup, StateMaster, ReasonPreempt)
		if at := transitions(acts)[0].At.Sub(t0); at > 10*time.Second+r.m.MasterDownInterval() {
			t.Fatalf("preempted late at %v", at)
		}
	})
}

func TestMachineMasterReceive(t *testing.T) {
	tests := []struct {
		name      string
		cfg       func(*Config)
		ev        func(r *rig) Event
		wantState State
		reason    Reason
		wantSends []uint8
		wantLower []PeerAdvert // ActionLowerPriority, At filled in
	}{
		{"higher priority: step down", func(*Config) {}, func(r *rig) Event { return r.advert(200) }, StateBackup, ReasonHigherPriority, nil, nil},
		{"higher priority with higher_prio_send_advert", func(c *Config) { c.HigherPrioSendAdvert = true },
			func(r *rig) Event { return r.advert(200) }, StateBackup, ReasonHigherPriority, []uint8{100}, nil},
		{"equal priority higher address: step down", func(*Config) {}, func(r *rig) Event { return r.advert(100, from(hiPeer)) },
			StateBackup, ReasonTieBreak, nil, nil},
		{"equal priority lower address: stay, answer", func(*Config) {}, func(r *rig) Event { return r.advert(100, from(loPeer)) },
			StateMaster, ReasonNone, []uint8{100}, []PeerAdvert{{From: loPeer, Priority: 100}}},
		{"lower priority: answer (keepalived default)", func(*Config) {}, func(r *rig) Event { return r.advert(50) },
			StateMaster, ReasonNone, []uint8{100}, []PeerAdvert{{From: hiPeer, Priority: 50}}},
		{"lower priority with lower_prio_no_advert", func(c *Config) { c.LowerPrioNoAdvert = true },
			func(r *rig) Event { return r.advert(50) }, StateMaster, ReasonNone, nil, []PeerAdvert{{From: hiPeer, Priority: 50}}},
		{"priority 0: send advert at once", func(c *Config) { c.LowerPrioNoAdvert = true },
			func(r *rig) Event { return r.advert(0) }, StateMaster, ReasonNone, []uint8{100}, nil},
		{"invalid lower-priority advert: dropped, no event", func(*Config) {}, func(r *rig) Event { return r.advert(50, ttl(64)) },
			StateMaster, ReasonNone, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.cfg(&c)
			r := newRig(t, c)
			r.toMaster()
			acts := r.do(tt.ev(r))
			r.state(tt.wantState)
			if tt.reason != ReasonNone {
				r.wantTransition(acts, StateMaster, tt.wantState, tt.reason)
			} else {
				r.wantNoTransition(acts)
			}
			r.wantSendPrio(acts, tt.wantSends...)
			var lower []PeerAdvert
			for i, a := range acts {
				if a.Kind == ActionLowerPriority {
					lower = append(lower, a.Advert)
					if i == 0 && len(tt.wantSends) > 0 {
						t.Errorf("ActionLowerPriority before the answering advertisement")
					}
				}
			}
			for i := range tt.wantLower {
				tt.wantLower[i].At = r.now
			}
			if diff := cmpDiff(tt.wantLower, lower); diff != "" {
				t.Errorf("ActionLowerPriority (-want +got):\n%s", diff)
			}
			if got := r.m.Stats().LowerPriorityReceived; got != uint64(len(tt.wantLower)) {
				t.Errorf("Stats.LowerPriorityReceived = %d, want %d", got, len(tt.wantLower))
			}
		})
	}
}

// Only a MASTER reports lower-priority advertisements.
func TestMachineLowerPriorityOnlyMaster(t *testing.T) {
	r := newRig(t, baseConfig())
	r.start()
	acts := r.do(r.advert(50))
	for _, a := range acts {
		if a.Kind == ActionLowerPriority {
			t.Fatalf("BACKUP reported %+v", a)
		}
	}
	if n := r.m.Stats().LowerPriorityReceived; n != 0 {
		t.Fatalf("Stats.LowerPriorityReceived = %d in BACKUP", n)
	}
}

func TestMachineStop(t *testing.T) {
	t.Run("master sends priority 0", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		acts := r.do(Event{Kind: EventStop})
		r.wantSendPrio(acts, 0)
		r.wantTransition(acts, StateMaster, StateStop, ReasonShutdown)
		if !r.m.NextDeadline().IsZero() {
			t.Fatal("timer running after stop")
		}
		if len(r.do(Event{Kind: EventStop})) != 0 {
			t.Fatal("second stop acted")
		}
		// Restart.
		r.wantTransition(r.start(), StateStop, StateBackup, ReasonStartup)
	})
	t.Run("backup sends nothing", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		acts := r.do(Event{Kind: EventStop})
		r.wantSendPrio(acts)
		r.wantTransition(acts, StateBackup, StateStop, ReasonShutdown)
	})
	t.Run("stop before start does nothing", func(t *testing.T) {
		r := newRig(t, baseConfig())
		if len(r.do(Event{Kind: EventStop})) != 0 {
			t.Fatal("acted")
		}
	})
}

func TestMachineTracking(t *testing.T) {
	track := []TrackedObject{
		{Name: "up+20", Weight: 20},
		{Name: "down-30", Weight: -30},
		{Name: "rev+10", Weight: 10, Reverse: true},
		{Name: "rev-5", Weight: -5, Reverse: true},
		{Name: "iface"},
	}
	tests := []struct {
		name  string
		base  uint8
		down  []string
		want  uint8
		fault bool
	}{
		{"all up", 100, nil, 100 + 20 - 10, false},
		{"positive weight down", 100, []string{"up+20"}, 100 - 10, false},
		{"negative weight down", 100, []string{"down-30"}, 100 + 20 - 30 - 10, false},
		{"reverse positive down", 100, []string{"rev+10"}, 120, false},
		{"reverse negative down", 100, []string{"rev-5"}, 100 + 20 - 10 + 5, false},
		{"clamped to 254", 250, nil, 254, false},
		{"clamped to 1", 10, []string{"up+20", "down-30"}, 1, false},
		{"owner not adjusted", 255, []string{"up+20", "down-30"}, 255, false},
		{"unweighted down faults", 100, []string{"iface"}, 110, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			c.Priority = tt.base
			c.Track = track
			r := newRig(t, c)
			r.start()
			for _, n := range tt.down {
				r.do(Event{Kind: EventTrack, Name: n, Up: false})
			}
			if got := r.m.Priority(); got != tt.want {
				t.Fatalf("priority = %d, want %d", got, tt.want)
			}
			if (r.m.State() == StateFault) != tt.fault {
				t.Fatalf("state %v, fault want %v", r.m.State(), tt.fault)
			}
		})
	}
	t.Run("master advertises priority change at once", func(t *testing.T) {
		c := baseConfig()
		c.Track = track
		r := newRig(t, c)
		r.toMaster()
		r.wantSendPrio(r.do(Event{Kind: EventTrack, Name: "down-30", Up: false}), 80)
		r.wantSendPrio(r.do(Event{Kind: EventTrack, Name: "down-30", Up: false}))
		r.wantSendPrio(r.do(Event{Kind: EventTrack, Name: "nosuch", Up: false}))
		r.wantSendPrio(r.do(Event{Kind: EventPriority, Priority: 150}), 150+20-30-10)
		r.wantSendPrio(r.do(Event{Kind: EventPriority, Priority: 150}))
		r.wantSendPrio(r.do(Event{Kind: EventPriority, Priority: 0}))
	})
	t.Run("fault from master sends priority 0, recovery waits as backup", func(t *testing.T) {
		c := baseConfig()
		c.Track = track
		r := newRig(t, c)
		r.toMaster()
		acts := r.do(Event{Kind: EventTrack, Name: "iface", Up: false})
		r.wantSendPrio(acts, 0)
		r.wantTransition(acts, StateMaster, StateFault, ReasonFault)
		if acts[0].Kind != ActionFaultChange || !acts[0].Faulted {
			t.Fatalf("first action %+v, want fault change", acts[0])
		}
		r.wantNoTransition(r.advance(time.Minute))
		r.do(r.advert(200))
		if r.m.Stats().Drops[DropNotRunning] != 1 {
			t.Fatal("advert in fault not counted")
		}
		acts = r.do(Event{Kind: EventTrack, Name: "iface", Up: true})
		r.wantTransition(acts, StateFault, StateBackup, ReasonFaultCleared)
	})
	t.Run("owner leaves fault as master", func(t *testing.T) {
		c := baseConfig()
		c.Priority = 255
		c.Track = []TrackedObject{{Name: "iface"}}
		r := newRig(t, c)
		r.start()
		r.do(Event{Kind: EventTrack, Name: "iface", Up: false})
		r.state(StateFault)
		acts := r.do(Event{Kind: EventTrack, Name: "iface", Up: true})
		r.wantTransition(acts, StateFault, StateMaster, ReasonFaultCleared)
	})
	t.Run("tracking before start", func(t *testing.T) {
		c := baseConfig()
		c.Track = []TrackedObject{{Name: "iface"}}
		r := newRig(t, c)
		r.do(Event{Kind: EventTrack, Name: "iface", Up: false})
		r.state(StateInit)
		r.wantTransition(r.start(), StateInit, StateFault, ReasonFault)
	})
}

func TestMachineSyncGroupEvents(t *testing.T) {
	r := newRig(t, baseConfig())
	r.start()
	r.wantTransition(r.do(Event{Kind: EventForce, State: StateMaster}), StateBackup, StateMaster, ReasonSyncGroup)
	r.wantNoTransition(r.do(Event{Kind: EventForce, State: StateMaster}))
	acts := r.do(Event{Kind: EventForce, State: StateBackup})
	r.wantTransition(acts, StateMaster, StateBackup, ReasonSyncGroup)
	r.wantSendPrio(acts, 0)
	r.wantTransition(r.do(Event{Kind: EventGroupFault, Up: false}), StateBackup, StateFault, ReasonSyncGroup)
	r.wantNoTransition(r.do(Event{Kind: EventGroupFault, Up: false}))
	r.wantNoTransition(r.do(Event{Kind: EventForce, State: StateMaster}))
	r.wantTransition(r.do(Event{Kind: EventGroupFault, Up: true}), StateFault, StateBackup, ReasonFaultCleared)

	// A group member waits for the group when its timer expires.
	g := newRig(t, baseConfig())
	g.do(Event{Kind: EventJoinGroup})
	g.start()
	acts = g.advance(g.m.MasterDownInterval())
	g.wantNoTransition(acts)
	if len(acts) != 1 || acts[0].Kind != ActionWantMaster || !acts[0].Want {
		t.Fatalf("acts %+v", acts)
	}
	if g.m.NextDeadline().IsZero() {
		t.Fatal("timer not re-armed")
	}
	acts = g.do(g.advert(200))
	if len(acts) != 1 || acts[0].Kind != ActionWantMaster || acts[0].Want {
		t.Fatalf("acts %+v", acts)
	}
	g.advance(g.m.MasterDownInterval())
	g.wantTransition(g.do(Event{Kind: EventForce, State: StateMaster}), StateBackup, StateMaster, ReasonMasterDown)

	// Group fault before start.
	r2 := newRig(t, baseConfig())
	r2.do(Event{Kind: EventGroupFault, Up: false})
	r2.wantTransition(r2.start(), StateInit, StateFault, ReasonSyncGroup)
}

func TestGroup(t *testing.T) {
	g := NewGroup(3)
	tr := func(from, to State, r Reason) Action {
		return Action{Kind: ActionTransition, Transition: Transition{From: from, To: to, Reason: r}}
	}
	steps := []struct {
		member int
		a      Action
		want   Event
		ok     bool
	}{
		{0, tr(StateBackup, StateMaster, ReasonMasterDown), Event{Kind: EventForce, State: StateMaster}, true},
		{1, tr(StateBackup, StateMaster, ReasonSyncGroup), Event{}, false},
		{0, tr(StateMaster, StateBackup, ReasonHigherPriority), Event{Kind: EventForce, State: StateBackup}, true},
		{0, tr(StateInit, StateBackup, ReasonStartup), Event{}, false},
		{1, Action{Kind: ActionFaultChange, Faulted: true}, Event{Kind: EventGroupFault, Up: false}, true},
		{2, Action{Kind: ActionFaultChange, Faulted: true}, Event{}, false},
		{1, Action{Kind: ActionFaultChange, Faulted: false}, Event{}, false},
		{2, Action{Kind: ActionFaultChange, Faulted: false}, Event{Kind: EventGroupFault, Up: true}, true},
		{5, Action{Kind: ActionFaultChange, Faulted: true}, Event{}, false},
		{0, Action{Kind: ActionSend}, Event{}, false},
		{2, tr(StateInit, StateBackup, ReasonStartup), Event{}, false},
		{0, Action{Kind: ActionWantMaster, Want: true}, Event{}, false}, // member 2 not ready
		{2, Action{Kind: ActionWantMaster, Want: true}, Event{Kind: EventForce, State: StateMaster}, true},
		{2, Action{Kind: ActionWantMaster, Want: false}, Event{}, false},
	}
	for i, s := range steps {
		ev, ok := g.Propagate(s.member, s.a)
		if ok != s.ok || !cmp.Equal(ev, s.want, pktCmp) {
			t.Fatalf("step %d: got %+v %v, want %+v %v", i, ev, ok, s.want, s.ok)
		}
	}
}

func TestMachineUpdate(t *testing.T) {
	t.Run("master: new priority advertised, no transition", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.toMaster()
		c := baseConfig()
		c.Priority = 120
		c.Addrs = append(c.Addrs, netip.MustParseAddr("192.0.2.101"))
		acts, err := r.m.Update(r.now, c)
		if err != nil {
			t.Fatal(err)
		}
		r.wantNoTransition(acts)
		r.wantSendPrio(acts, 120)
		if got := sends(acts)[0].Addrs; len(got) != 2 {
			t.Fatalf("addrs %v", got)
		}
		// Unchanged config: nothing.
		acts, _ = r.m.Update(r.now, c)
		if len(acts) != 0 {
			t.Fatalf("no-op update: %+v", acts)
		}
	})
	t.Run("backup: interval and peers change, timer kept", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		dl := r.m.NextDeadline()
		c := baseConfig()
		c.AdvertInterval = 2 * time.Second
		c.Peers = []netip.Addr{hiPeer}
		c.Checksum = ChecksumNoPseudoHeader
		acts, err := r.m.Update(r.now, c)
		if err != nil || len(acts) != 0 {
			t.Fatalf("Update = %+v, %v", acts, err)
		}
		if r.m.NextDeadline() != dl {
			t.Fatal("timer changed")
		}
		r.state(StateBackup)
	})
	t.Run("tracking state kept; new unweighted object down is real fault", func(t *testing.T) {
		c := baseConfig()
		c.Track = []TrackedObject{{Name: "a", Weight: -10}}
		r := newRig(t, c)
		r.start()
		r.do(Event{Kind: EventTrack, Name: "a", Up: false})
		c.Track = append(c.Track, TrackedObject{Name: "b", Reverse: true})
		acts, err := r.m.Update(r.now, c)
		if err != nil {
			t.Fatal(err)
		}
		r.wantTransition(acts, StateBackup, StateFault, ReasonFault)
		if r.m.Priority() != 90 {
			t.Fatalf("priority %d", r.m.Priority())
		}
	})
	t.Run("invalid and immutable changes rejected", func(t *testing.T) {
		r := newRig(t, baseConfig())
		for _, mod := range []func(*Config){
			func(c *Config) { c.VRID = 52 },
			func(c *Config) { c.Version = 2 },
			func(c *Config) { c.Source = netip.MustParseAddr("fe80::1"); c.Addrs = nil },
		} {
			c := baseConfig()
			mod(&c)
			if _, err := r.m.Update(r.now, c); !errors.Is(err, ErrReconfigure) {
				t.Errorf("err = %v, want ErrReconfigure", err)
			}
		}
		c := baseConfig()
		c.AdvertInterval = -1
		if _, err := r.m.Update(r.now, c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Config)
		ok   bool
	}{
		{"base", func(*Config) {}, true},
		{"v2 pass", func(c *Config) { c.Version = 2; c.AuthType = AuthSimple; c.AuthPass = "secret1" }, true},
		{"v2 AH", func(c *Config) { c.Version = 2; c.AuthType = AuthAH }, true},
		{"IPv6", func(c *Config) { c.Source = kaSrc6; c.Addrs = []netip.Addr{vip6}; c.Peers = []netip.Addr{vip6} }, true},
		{"zoned source", func(c *Config) { c.Source = netip.MustParseAddr("fe80::1%eth0"); c.Addrs = nil }, true},
		{"no VRID", func(c *Config) { c.VRID = 0 }, false},
		{"no source", func(c *Config) { c.Source = netip.Addr{} }, false},
		{"bad version", func(c *Config) { c.Version = 4 }, false},
		{"v2 IPv6", func(c *Config) { c.Version = 2; c.Source = kaSrc6; c.Addrs = nil }, false},
		{"v2 sub-second", func(c *Config) { c.Version = 2; c.AdvertInterval = time.Millisecond * 500 }, false},
		{"v3 too fast", func(c *Config) { c.AdvertInterval = time.Millisecond }, false},
		{"v3 auth", func(c *Config) { c.AuthType = AuthSimple }, false},
		{"pass without type", func(c *Config) { c.Version = 2; c.AuthPass = "x" }, false},
		{"long pass", func(c *Config) { c.Version = 2; c.AuthType = AuthSimple; c.AuthPass = "123456789" }, false},
		{"bad auth type", func(c *Config) { c.Version = 2; c.AuthType = 7 }, false},
		{"mixed family addr", func(c *Config) { c.Addrs = []netip.Addr{vip6} }, false},
		{"too many addrs", func(c *Config) { c.Addrs = make([]netip.Addr, 256) }, false},
		{"mixed family peer", func(c *Config) { c.Peers = []netip.Addr{vip6} }, false},
		{"ttl range", func(c *Config) { c.UnicastTTL = TTLRange{Min: 200, Max: 100} }, false},
		{"peer ttl range", func(c *Config) { c.PeerTTL = map[netip.Addr]TTLRange{hiPeer: {Min: 200, Max: 100}} }, false},
		{"peer ttl ok", func(c *Config) { c.PeerTTL = map[netip.Addr]TTLRange{hiPeer: {Min: 1, Max: 255}} }, true},
		{"preempt delay", func(c *Config) { c.PreemptDelay = time.Hour }, false},
		{"initial state", func(c *Config) { c.InitialState = StateFault }, false},
		{"checksum", func(c *Config) { c.Checksum = 9 }, false},
		{"checksum accept", func(c *Config) { c.ChecksumAccept = 9 }, false},
		{"track no name", func(c *Config) { c.Track = []TrackedObject{{}} }, false},
		{"track weight", func(c *Config) { c.Track = []TrackedObject{{Name: "a", Weight: 300}} }, false},
		{"track dup", func(c *Config) { c.Track = []TrackedObject{{Name: "a"}, {Name: "a"}} }, false},
		{"multicast group", func(c *Config) { c.MulticastGroup = mcastDoc4 }, true},
		{"multicast group v6", func(c *Config) { c.Source = kaSrc6; c.Addrs = nil; c.MulticastGroup = mcastDoc6 }, true},
		{"multicast group unicast", func(c *Config) { c.MulticastGroup = hiPeer }, false},
		{"multicast group other family", func(c *Config) { c.MulticastGroup = mcastDoc6 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			tt.mod(&c)
			err := c.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v does not wrap ErrInvalidConfig", err)
			}
			if _, err := NewMachine(c); (err == nil) != tt.ok {
				t.Fatalf("NewMachine error %v", err)
			}
		})
	}
	// The caller's slices are not retained.
	c := baseConfig()
	m, _ := NewMachine(c)
	c.Addrs[0] = vip6
	if m.Config().Addrs[0] != vip4 {
		t.Fatal("config slice retained")
	}
}

func TestStringers(t *testing.T) {
	for s := range State(6) {
		if s.String() == "" {
			t.Fatal("empty")
		}
	}
	for r := range Reason(14) {
		if r.String() == "" {
			t.Fatal("empty")
		}
	}
	for r := range DropReason(NumDropReasons + 1) {
		if r.String() == "" {
			t.Fatal("empty")
		}
	}
}

func cmpDiff(want, got any) string { return cmp.Diff(want, got, pktCmp) }

func TestMachineUnicastAndChecksumModes(t *testing.T) {
	t.Run("one copy per peer, checksum per destination", func(t *testing.T) {
		c := baseConfig()
		c.Peers = []netip.Addr{hiPeer, loPeer}
		r := newRig(t, c)
		r.toMaster()
		var dsts []netip.Addr
		for _, a := range r.last {
			if a.Kind == ActionSend {
				dsts = append(dsts, a.Dst)
				if _, ok := VerifyChecksum(a.Payload, ourAddr, a.Dst); !ok {
					t.Fatalf("bad checksum to %v", a.Dst)
				}
			}
		}
		if diff := cmp.Diff([]netip.Addr{hiPeer, loPeer}, dsts, pktCmp); diff != "" {
			t.Fatal(diff)
		}
	})
	t.Run("unicast TTL range", func(t *testing.T) {
		c := baseConfig()
		c.Peers = []netip.Addr{hiPeer}
		c.UnicastTTL = TTLRange{Min: 60, Max: 64}
		r := newRig(t, c)
		r.start()
		r.do(r.advert(200, ttl(64)))
		r.do(r.advert(200, ttl(255)))
		r.do(r.advert(200, ttl(-1))) // unknown: not checked
		if s := r.m.Stats(); s.AdvertsReceived != 2 || s.Drops[DropTTL] != 1 {
			t.Fatalf("stats %+v", s)
		}
		// Per-peer override.
		c.PeerTTL = map[netip.Addr]TTLRange{hiPeer: {Min: 1, Max: 1}}
		r2 := newRig(t, c)
		r2.start()
		r2.do(r2.advert(200, ttl(1)))
		r2.do(r2.advert(200, ttl(64)))
		r2.do(r2.advert(200, ttl(64), from(loPeer)))
		if s := r2.m.Stats(); s.AdvertsReceived != 2 || s.Drops[DropTTL] != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("detect switches the variant sent", func(t *testing.T) {
		c := baseConfig()
		c.ChecksumAccept = AcceptDetect
		r := newRig(t, c)
		r.toMaster()
		ev := r.advert(50)
		p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 50, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
		ev.Payload, _ = p.AppendBinary(nil)
		acts := r.do(ev) // answered at once (lower priority), then reported
		if len(acts) != 2 || acts[0].Kind != ActionSend || acts[1].Kind != ActionLowerPriority {
			t.Fatalf("acts %+v", acts)
		}
		if mode, ok := VerifyChecksum(acts[0].Payload, ourAddr, MulticastGroup4); !ok || mode != ChecksumNoPseudoHeader {
			t.Fatalf("sent %v %v", mode, ok)
		}
		if r.m.Stats().ChecksumModeChanges != 1 {
			t.Fatal("not counted")
		}
	})
	t.Run("address mismatch counted, accepted", func(t *testing.T) {
		r := newRig(t, baseConfig())
		r.start()
		r.do(r.advert(200, addrs(netip.MustParseAddr("192.0.2.7"))))
		r.do(r.advert(200, addrs()))
		if s := r.m.Stats(); s.AdvertsReceived != 2 || s.AddrMismatch != 2 {
			t.Fatalf("stats %+v", s)
		}
	})
	t.Run("IPv6 link-local source with zone", func(t *testing.T) {
		c := baseConfig()
		c.Source = netip.MustParseAddr("fe80::1%eth0")
		c.Addrs = []netip.Addr{vip6}
		r := newRig(t, c)
		r.start()
		ev := r.advert(200)
		ev.Meta.Src = netip.MustParseAddr("fe80::2%eth0")
		ev.Meta.Dst = MulticastGroup6
		r.do(ev)
		if s := r.m.Stats(); s.AdvertsReceived != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestMachineZeroAllocs(t *testing.T) {
	master := newRig(t, baseConfig())
	master.toMaster()
	backup := newRig(t, baseConfig())
	backup.start()
	ev := backup.advert(200)
	now := master.now
	allocs := testing.AllocsPerRun(1000, func() {
		now = now.Add(time.Second)
		master.m.Handle(now, Event{Kind: EventTimer})
		backup.m.Handle(now, ev)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per steady-state step, want 0", allocs)
	}
}

func BenchmarkMachineMasterTimer(b *testing.B) {
	m, _ := NewMachine(baseConfig())
	now := t0
	m.Handle(now, Event{Kind: EventStart})
	now = now.Add(m.MasterDownInterval())
	m.Handle(now, Event{Kind: EventTimer})
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Second)
		m.Handle(now, Event{Kind: EventTimer})
	}
}

func BenchmarkMachineBackupReceive(b *testing.B) {
	m, _ := NewMachine(baseConfig())
	m.Handle(t0, Event{Kind: EventStart})
	p := Packet{Version: 3, Type: 1, VRID: 51, Priority: 200, AdvertInterval: time.Second, Addrs: []netip.Addr{vip4}}
	buf, _ := p.AppendChecksummed(nil, hiPeer, MulticastGroup4)
	ev := Event{Kind: EventPacket, Payload: buf, Meta: Meta{Src: hiPeer, Dst: MulticastGroup4, TTL: 255}}
	b.ReportAllocs()
	for b.Loop() {
		m.Handle(t0, ev)
	}
}

func TestMachineMasterDownHint(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(r *rig) // from a fresh machine
		hint      netip.Addr
		wantState State
		reason    Reason
		acted     bool
	}{
		{"backup, hint names the master heard", func(r *rig) { r.start(); r.do(r.advert(200, from(hiPeer))) },
			hiPeer, StateMaster, ReasonMasterDownHint, true},
		{"backup, master heard with a zone", func(r *rig) { r.start(); r.do(r.advert(200, from(hiPeer))) },
			hiPeer.WithZone("eth0"), StateMaster, ReasonMasterDownHint, true},
		{"backup, master sent priority 0", func(r *rig) { r.start(); r.do(r.advert(200)); r.do(r.advert(0)) },
			hiPeer, StateMaster, ReasonMasterDownHint, true},
		{"backup, hint names another address", func(r *rig) { r.start(); r.do(r.advert(200, from(hiPeer))) },
			loPeer, StateBackup, ReasonNone, false},
		{"backup, no master heard yet", func(r *rig) { r.start() }, hiPeer, StateBackup, ReasonNone, false},
		{"backup, only a lower-priority (preempted) master heard", func(r *rig) { r.start(); r.do(r.advert(50, from(hiPeer))) },
			hiPeer, StateBackup, ReasonNone, false},
		{"master", func(r *rig) { r.toMaster() }, hiPeer, StateMaster, ReasonNone, false},
		{"backup after stepping down from master", func(r *rig) { r.toMaster(); r.do(r.advert(200, from(hiPeer))) },
			hiPeer, StateMaster, ReasonMasterDownHint, true},
		{"init", func(*rig) {}, hiPeer, StateInit, ReasonNone, false},
		{"fault", func(r *rig) {
			r.start()
			r.do(r.advert(200))
			r.do(Event{Kind: EventTrack, Name: "eth0", Up: false})
		}, hiPeer, StateFault, ReasonNone, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			c.Track = []TrackedObject{{Name: "eth0"}}
			r := newRig(t, c)
			tt.setup(r)
			r.now = r.now.Add(10 * time.Millisecond) // well before Master_Down_Interval
			before := r.m.State()
			acts := r.do(Event{Kind: EventMasterDown, Addr: tt.hint})
			r.state(tt.wantState)
			if tt.reason != ReasonNone {
				r.wantTransition(acts, before, tt.wantState, tt.reason)
				r.wantSendPrio(acts, 100)
				if tr := transitions(acts); tr[0].At != r.now {
					t.Errorf("transition at %v, want now %v", tr[0].At, r.now)
				}
			} else if len(acts) != 0 {
				t.Errorf("ignored hint returned actions %+v", acts)
			}
			s := r.m.Stats()
			if got := [2]uint64{s.MasterDownHints, s.MasterDownHintsIgnored}; got != map[bool][2]uint64{true: {1, 0}, false: {0, 1}}[tt.acted] {
				t.Errorf("MasterDownHints, MasterDownHintsIgnored = %v, acted %v", got, tt.acted)
			}
		})
	}
}

// A sync group member that gets a true hint asks its group, as when its
// timer expires.
func TestMachineMasterDownHintSyncGroup(t *testing.T) {
	r := newRig(t, baseConfig())
	r.do(Event{Kind: EventJoinGroup})
	r.start()
	r.do(r.advert(200))
	if got := r.m.Master(); got != hiPeer {
		t.Fatalf("Master() = %v, want %v", got, hiPeer)
	}
	acts := r.do(Event{Kind: EventMasterDown, Addr: hiPeer})
	r.state(StateBackup)
	if len(acts) != 1 || acts[0].Kind != ActionWantMaster || !acts[0].Want {
		t.Fatalf("actions %+v, want one ActionWantMaster", acts)
	}
	acts = r.do(Event{Kind: EventForce, State: StateMaster})
	r.wantTransition(acts, StateBackup, StateMaster, ReasonMasterDownHint)
	if got := r.m.Master(); got.IsValid() {
		t.Fatalf("MASTER: Master() = %v, want none", got)
	}
}

// Documentation multicast groups (RFC 6676: MCAST-TEST-NET and the IPv6
// unicast-prefix-based group for 2001:db8::/32).
var (
	mcastDoc4 = netip.MustParseAddr("233.252.0.18")
	mcastDoc6 = netip.MustParseAddr("ff02::db8:0:12")
)

// Multicast advertisements go to Config.MulticastGroup, and their VRRPv3
// checksum covers it.
func TestMachineMulticastGroup(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(*Config)
		want  netip.Addr
		peers bool
	}{
		{"default v4", func(*Config) {}, MulticastGroup4, false},
		{"default v6", func(c *Config) { c.Source = kaSrc6; c.Addrs = []netip.Addr{vip6} }, MulticastGroup6, false},
		{"mcast_dst_ip v4", func(c *Config) { c.MulticastGroup = mcastDoc4 }, mcastDoc4, false},
		{"mcast_dst_ip v6", func(c *Config) { c.Source = kaSrc6; c.Addrs = []netip.Addr{vip6}; c.MulticastGroup = mcastDoc6 }, mcastDoc6, false},
		{"unicast ignores the group", func(c *Config) { c.MulticastGroup = mcastDoc4; c.Peers = []netip.Addr{hiPeer} }, hiPeer, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseConfig()
			c.Priority = 255
			tt.mod(&c)
			r := newRig(t, c)
			acts := r.start()
			var dsts []netip.Addr
			for _, a := range acts {
				if a.Kind == ActionSend {
					dsts = append(dsts, a.Dst)
					if _, ok := VerifyChecksum(a.Payload, r.cfg.Source, a.Dst); !ok {
						t.Errorf("advert to %v: checksum not over that destination", a.Dst)
					}
				}
			}
			if diff := cmpDiff([]netip.Addr{tt.want}, dsts); diff != "" {
				t.Errorf("destinations (-want +got):\n%s", diff)
			}
		})
	}
}
