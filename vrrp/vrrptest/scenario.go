package vrrptest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
)

// ScenarioResult summarizes one seeded scenario run by [RunScenario].
type ScenarioResult struct {
	Seed        uint64
	Description string        // the generated topology and steps (only on failure)
	Routers     int           // number of routers
	Steps       int           // perturbations applied
	Events      uint64        // simulation events processed
	Transitions int           // state transitions observed
	Simulated   time.Duration // simulated time
}

// ScenarioError is returned by [RunScenario] when an invariant fails. Its
// message holds the seed, the scenario, the failure and the event trace.
type ScenarioError struct {
	Seed        uint64
	Description string
	Failure     string
	Trace       string
}

func (e *ScenarioError) Error() string {
	return fmt.Sprintf("vrrptest: scenario seed %d: %s\nscenario: %s\ntrace:\n%s", e.Seed, e.Failure, e.Description, e.Trace)
}

type scenario struct {
	seed    uint64
	rng     *rand.Rand
	lan     *LAN
	vrids   []uint8
	adv     time.Duration
	delay   time.Duration // max one-way delay incl. jitter
	maxPD   time.Duration // max preempt delay
	desc    strings.Builder
	steps   int
	tracked map[*Router]string
	trace   bool
	n       int  // hosts
	grouped bool // each host's instances form a sync group
}

// RunScenario generates a random VRRP scenario from seed, runs it on a
// [LAN] and checks the invariants after every convergence:
//
//   - exactly one MASTER per VRID among running, unfaulted routers;
//   - if a running router with a higher effective priority than the
//     master preempts, that is a violation (highest priority wins);
//   - after a master crashes (or stops, or faults), a new master appears
//     within its last advertisement + link delay + Master_Down_Interval
//     (Skew_Time after a priority-0 advertisement) + 1ms;
//   - no transitions during quiet periods without loss or changes (no
//     flaps without a cause).
//
// Scenarios vary the number of hosts (2-5), VRIDs (1-2; with two, the
// host's instances form a sync group in half the runs), VRRP version,
// family, advertisement interval, priorities (ties and owners included),
// preempt/nopreempt/preempt_delay, unicast, checksum variants, weighted
// and unweighted tracking, link delay and jitter; steps are crashes,
// restarts, graceful stops, faults, priority changes, partitions and loss
// bursts (crashes, stops, partitions, tracking and priority changes act on
// a whole host when sync groups are on). The same seed always produces the
// same run.
func RunScenario(seed uint64) (ScenarioResult, error) {
	res, tr, err := runScenario(seed, false)
	if err != nil {
		// Runs are deterministic: run again with the trace on.
		res2, tr2, err2 := runScenario(seed, true)
		if err2 != nil {
			res, err, tr = res2, err2, tr2
		}
		return res, &ScenarioError{Seed: seed, Description: res.Description, Failure: err.Error(), Trace: tr}
	}
	return res, nil
}

func runScenario(seed uint64, trace bool) (ScenarioResult, string, error) {
	s := &scenario{seed: seed, rng: rand.New(rand.NewPCG(seed, 0x5eed)), tracked: map[*Router]string{}, trace: trace}
	res := ScenarioResult{Seed: seed}
	err := s.run()
	res.Description = s.desc.String()
	if s.lan != nil {
		res.Routers = len(s.lan.routers)
		res.Events = s.lan.stats.Events
		res.Transitions = len(s.lan.trans)
		res.Simulated = s.lan.Elapsed()
	}
	res.Steps = s.steps
	tr := ""
	if err != nil && s.lan != nil {
		tr = s.lan.Trace()
	}
	return res, tr, err
}

func (s *scenario) logf(format string, args ...any) {
	if !s.trace {
		return
	}
	fmt.Fprintf(&s.desc, format+"; ", args...)
	if s.lan != nil {
		s.lan.Note(format, args...)
	}
}

func (s *scenario) run() error {
	rng := s.rng
	n := 2 + rng.IntN(4)
	version := 3
	if rng.IntN(5) == 0 {
		version = 2
	}
	ipv6 := version == 3 && rng.IntN(4) == 0
	s.adv = time.Second
	if version == 3 {
		s.adv = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond, time.Second}[rng.IntN(4)]
	}
	delay := time.Duration(rng.Int64N(int64(s.adv/20) + 1))
	jitter := time.Duration(0)
	if rng.IntN(2) == 0 {
		jitter = time.Duration(rng.Int64N(int64(s.adv/20) + 1))
	}
	s.delay = delay + jitter
	limit := -1
	if s.trace {
		limit = 4000
	}
	s.lan = NewLAN(LANConfig{Seed: s.seed, Delay: max(delay, -1), Jitter: jitter, TraceLimit: limit})
	if delay == 0 {
		s.lan.cfg.Delay = 0
	}
	s.vrids = []uint8{51}
	if rng.IntN(4) == 0 {
		s.vrids = append(s.vrids, 52)
		s.grouped = rng.IntN(2) == 0
	}
	s.n = n
	unicast := rng.IntN(5) == 0
	allPreempt := rng.IntN(10) < 7
	owner := -1
	if rng.IntN(10) == 0 {
		owner = rng.IntN(n)
	}
	s.logf("v%d ipv6=%v n=%d adv=%v delay=%v jitter=%v unicast=%v vrids=%v sync_groups=%v", version, ipv6, n, s.adv, delay, jitter,
		unicast, s.vrids, s.grouped)
	addr := func(i int) netip.Addr {
		if ipv6 {
			return netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(i + 1)})
		}
		return netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)})
	}
	vip := netip.AddrFrom4([4]byte{192, 0, 2, 100})
	if ipv6 {
		vip = netip.MustParseAddr("2001:db8::100")
	}
	for _, vrid := range s.vrids {
		for i := range n {
			if s.grouped && vrid != s.vrids[0] {
				// Sync group members share the host's settings.
				h := s.lan.routers[i]
				c := h.Config()
				c.VRID = vrid
				r, err := s.lan.AddRouter(fmt.Sprintf("r%d/%d", i, vrid), c)
				if err != nil {
					return err
				}
				if name, ok := s.tracked[h]; ok {
					s.tracked[r] = name
				}
				if err := s.lan.SyncGroup(h, r); err != nil {
					return err
				}
				continue
			}
			c := vrrp.Config{Version: version, VRID: vrid, AdvertInterval: s.adv, Source: addr(i), Addrs: []netip.Addr{vip}}
			c.Priority = uint8(1 + rng.IntN(254))
			if rng.IntN(4) == 0 {
				c.Priority = 100 // ties
			}
			if i == owner && vrid == 51 {
				c.Priority = 255
			}
			c.NoPreempt = !allPreempt && rng.IntN(2) == 0
			if rng.IntN(8) == 0 {
				c.PreemptDelay = s.adv * time.Duration(1+rng.IntN(5))
				s.maxPD = max(s.maxPD, c.PreemptDelay)
			}
			if unicast {
				for j := range n {
					if j != i {
						c.Peers = append(c.Peers, addr(j))
					}
				}
			}
			if version == 3 && !ipv6 && rng.IntN(4) == 0 {
				c.Checksum = vrrp.ChecksumNoPseudoHeader
			}
			if version == 2 && rng.IntN(3) == 0 {
				c.AuthType, c.AuthPass = vrrp.AuthSimple, "secret1"
				// All routers of a VRID must agree on the password.
				for _, r := range s.lan.routers {
					if r.cfg.VRID == vrid {
						c.AuthType, c.AuthPass = r.cfg.AuthType, r.cfg.AuthPass
						break
					}
				}
			}
			if version == 2 && len(s.lan.routers) > 0 {
				for _, r := range s.lan.routers {
					if r.cfg.VRID == vrid {
						c.AuthType, c.AuthPass = r.cfg.AuthType, r.cfg.AuthPass
						break
					}
				}
			}
			trackName := ""
			if rng.IntN(3) == 0 {
				trackName = "chk"
				w := rng.IntN(101) - 50
				c.Track = append(c.Track, vrrp.TrackedObject{Name: trackName, Weight: w, Reverse: rng.IntN(5) == 0})
			}
			c.Track = append(c.Track, vrrp.TrackedObject{Name: "iface"})
			r, err := s.lan.AddRouter(fmt.Sprintf("r%d/%d", i, vrid), c)
			if err != nil {
				return err
			}
			if trackName != "" {
				s.tracked[r] = trackName
			}
			s.logf("%s prio=%d nopreempt=%v preempt_delay=%v track=%v cksum=%v", r.name, c.Priority, c.NoPreempt, c.PreemptDelay, c.Track, c.Checksum)
		}
	}
	// Staggered start within one interval.
	order := rng.Perm(len(s.lan.routers))
	for _, i := range order {
		s.lan.Run(time.Duration(rng.Int64N(int64(s.adv))))
		s.lan.Start(s.lan.routers[i])
	}
	if err := s.converge("startup"); err != nil {
		return err
	}
	steps := 1 + rng.IntN(4)
	for range steps {
		s.steps++
		if err := s.step(); err != nil {
			return err
		}
	}
	return nil
}

// settle is long enough for any election to finish: preemption waits a
// preempt delay plus a Master_Down_Interval (at most 4 intervals), and
// split-brain resolves within an interval.
func (s *scenario) settle() time.Duration {
	return s.maxPD + 6*s.adv + 4*s.delay + time.Second/256*2
}

// converge waits for elections to finish, checks the invariants, then
// checks that a quiet period has no transitions.
func (s *scenario) converge(what string) error {
	s.lan.Run(s.settle())
	if err := s.check(what); err != nil {
		return err
	}
	before := len(s.lan.trans)
	s.lan.Run(8 * s.adv)
	if after := len(s.lan.trans); after != before {
		t := s.lan.trans[before]
		return fmt.Errorf("after %s: flap without cause: %s %v -> %v (%v) at %v", what, t.Router.name, t.From, t.To, t.Reason, t.At.Sub(s.lan.start))
	}
	return nil
}

func eligible(r *Router) bool {
	st := r.State()
	return r.up && (st == vrrp.StateBackup || st == vrrp.StateMaster)
}

func (s *scenario) check(what string) error {
	for _, vrid := range s.vrids {
		var masters []*Router
		var cands []*Router
		for _, r := range s.lan.routers {
			if r.cfg.VRID != vrid {
				continue
			}
			if eligible(r) {
				cands = append(cands, r)
			}
			if r.up && r.m.State() == vrrp.StateMaster {
				masters = append(masters, r)
			}
		}
		if len(cands) == 0 {
			if len(masters) != 0 {
				return fmt.Errorf("after %s: vrid %d: master with no eligible router", what, vrid)
			}
			continue
		}
		if len(masters) != 1 {
			var names []string
			for _, m := range masters {
				names = append(names, m.name)
			}
			return fmt.Errorf("after %s: vrid %d: %d masters %v, want exactly one", what, vrid, len(masters), names)
		}
		m := masters[0]
		for _, r := range cands {
			if r != m && r.m.Priority() > m.m.Priority() && !r.cfg.NoPreempt {
				return fmt.Errorf("after %s: vrid %d: master %s (prio %d) while preempting %s has prio %d", what, vrid, m.name,
					m.m.Priority(), r.name, r.m.Priority())
			}
		}
	}
	return nil
}

func (s *scenario) master(vrid uint8) *Router {
	ms := s.lan.Masters(vrid)
	if len(ms) == 1 {
		return ms[0]
	}
	return nil
}

// takeover checks that some eligible router of vrid becomes master by
// deadline.
func (s *scenario) takeover(what string, vrid uint8, old *Router, bound time.Duration, from time.Time) error {
	anyEligible := false
	for _, r := range s.lan.routers {
		if r != old && r.cfg.VRID == vrid && eligible(r) {
			anyEligible = true
		}
	}
	if !anyEligible {
		return nil
	}
	deadline := from.Add(bound + time.Millisecond)
	ok := s.lan.RunUntil(func() bool {
		for _, r := range s.lan.routers {
			if r != old && r.cfg.VRID == vrid && r.up && r.m.State() == vrrp.StateMaster {
				return true
			}
		}
		return false
	}, max(0, deadline.Sub(s.lan.now)))
	if !ok {
		return fmt.Errorf("%s: vrid %d: no takeover within %v of %v", what, vrid, bound+time.Millisecond, from.Sub(s.lan.start))
	}
	return nil
}

// members returns r and the other instances of its host's sync group.
func (s *scenario) members(r *Router) []*Router {
	if !s.grouped {
		return []*Router{r}
	}
	h := r.id % s.n
	return []*Router{s.lan.routers[h], s.lan.routers[h+s.n]}
}

// maxDown is the largest Master_Down_Interval (or Skew_Time) among
// eligible backups of vrid, or of every VRID with sync groups (a group
// goes master when its last member's timer expires).
func (s *scenario) maxDown(vrid uint8, skewOnly bool) time.Duration {
	var d time.Duration
	for _, r := range s.lan.routers {
		if (r.cfg.VRID == vrid || s.grouped) && eligible(r) && r.m.State() == vrrp.StateBackup {
			x := r.m.MasterDownInterval()
			if skewOnly {
				x = r.m.SkewTime()
			}
			d = max(d, x)
		}
	}
	return d
}

// goodbyeBound returns the takeover bound after master m sends priority 0
// now: Skew_Time after it arrives, unless jitter lets m's previous
// advertisement arrive after it (reordering), which restarts a full
// Master_Down_Interval from that arrival.
func (s *scenario) goodbyeBound(vrid uint8, m *Router) (time.Duration, time.Time) {
	now := s.lan.now
	for _, x := range s.members(m) {
		if x.m.State() == vrrp.StateMaster && x.lastSent.Add(s.delay).After(now) {
			return s.delay + s.maxDown(vrid, false), s.lastSent(m)
		}
	}
	return s.delay + s.maxDown(vrid, true), now
}

// lastSent is the last advertisement sent by m's host.
func (s *scenario) lastSent(m *Router) time.Time {
	var t time.Time
	for _, x := range s.members(m) {
		if x.lastSent.After(t) {
			t = x.lastSent
		}
	}
	return t
}

func (s *scenario) step() error {
	rng := s.rng
	vrid := s.vrids[rng.IntN(len(s.vrids))]
	m := s.master(vrid)
	rs := s.lan.routers
	switch k := rng.IntN(8); {
	case k == 0 && m != nil: // crash the master
		s.logf("step %d: crash master %s", s.steps, m.name)
		bound := s.delay + s.maxDown(vrid, false)
		last := s.lastSent(m)
		for _, x := range s.members(m) {
			s.lan.Crash(x)
		}
		if err := s.takeover("crash", vrid, m, bound, last); err != nil {
			return err
		}
		return s.converge("crash")
	case k == 1 && m != nil: // graceful stop of the master
		s.logf("step %d: stop master %s", s.steps, m.name)
		bound, from := s.goodbyeBound(vrid, m)
		for _, x := range s.members(m) {
			s.lan.Stop(x)
		}
		if err := s.takeover("stop", vrid, m, bound, from); err != nil {
			return err
		}
		return s.converge("stop")
	case k == 2 && m != nil: // fault the master through an unweighted object
		s.logf("step %d: fault master %s", s.steps, m.name)
		bound, from := s.goodbyeBound(vrid, m)
		s.lan.SetTracked(m, "iface", false)
		if err := s.takeover("fault", vrid, m, bound, from); err != nil {
			return err
		}
		if err := s.converge("fault"); err != nil {
			return err
		}
		s.logf("step %d: clear fault %s", s.steps, m.name)
		s.lan.SetTracked(m, "iface", true)
		return s.converge("fault cleared")
	case k == 3: // restart everything that is down or stopped
		s.logf("step %d: restart stopped routers", s.steps)
		for _, r := range rs {
			if !r.up {
				s.lan.Restart(r)
			} else if r.m.State() == vrrp.StateStop {
				s.lan.Start(r)
			}
		}
		return s.converge("restart")
	case k == 4 && len(s.tracked) > 0: // weighted tracked object flips
		var r *Router
		for _, x := range rs {
			if _, ok := s.tracked[x]; ok && (r == nil || rng.IntN(2) == 0) {
				r = x
			}
		}
		up := rng.IntN(2) == 0
		s.logf("step %d: %s chk up=%v", s.steps, r.name, up)
		for _, x := range s.members(r) {
			s.lan.SetTracked(x, "chk", up)
		}
		return s.converge("tracking")
	case k == 5: // priority change
		r := rs[rng.IntN(len(rs))]
		p := uint8(1 + rng.IntN(254))
		s.logf("step %d: %s priority %d", s.steps, r.name, p)
		for _, x := range s.members(r) {
			s.lan.SetPriority(x, p)
		}
		return s.converge("priority change")
	case k == 6: // partition then heal
		var a, b []*Router
		side := make([]bool, s.n)
		for h := range side {
			side[h] = rng.IntN(2) == 0
		}
		for _, r := range rs {
			if side[r.id%s.n] {
				a = append(a, r)
			} else {
				b = append(b, r)
			}
		}
		d := s.adv * time.Duration(1+rng.IntN(10))
		s.logf("step %d: partition for %v", s.steps, d)
		s.lan.Partition(a, b)
		s.lan.Run(d)
		s.lan.Heal()
		return s.converge("partition healed")
	default: // loss burst
		p := 0.1 + 0.5*rng.Float64()
		d := s.adv * time.Duration(1+rng.IntN(20))
		s.logf("step %d: loss %.2f for %v", s.steps, p, d)
		s.lan.SetAllLoss(p)
		s.lan.Run(d)
		s.lan.SetAllLoss(0)
		return s.converge("loss burst")
	}
}

// add adds r's counters (not its seed or description) to t.
func (t *ScenarioResult) add(r ScenarioResult) {
	t.Routers += r.Routers
	t.Steps += r.Steps
	t.Events += r.Events
	t.Transitions += r.Transitions
	t.Simulated += r.Simulated
}

// RunScenarios runs n scenarios with seeds first..first+n-1 and returns
// the first failure, if any, with the number run and the totals.
func RunScenarios(first uint64, n int) (run int, total ScenarioResult, err error) {
	for i := range n {
		res, err := RunScenario(first + uint64(i))
		total.add(res)
		if err != nil {
			var se *ScenarioError
			if errors.As(err, &se) {
				return i + 1, total, se
			}
			return i + 1, total, err
		}
	}
	return n, total, nil
}
