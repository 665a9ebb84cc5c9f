package bfd

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults of [Config] fields left zero.
const (
	DefaultDesiredMinTxInterval  = 300 * time.Millisecond
	DefaultRequiredMinRxInterval = 300 * time.Millisecond
	DefaultDetectMultiplier      = 3
	// SlowTxInterval is the least transmit interval advertised while a
	// session is not Up (RFC 5880 §6.8.3).
	SlowTxInterval = time.Second
)

// AuthConfig selects authentication for a session (RFC 5880 §6.7).
type AuthConfig struct {
	// Type is the authentication type; [AuthNone] disables authentication.
	Type AuthType
	// KeyID is sent in every packet; received packets must carry the same.
	KeyID uint8
	// Key is the password (1–16 bytes) or MD5 key (1–16 bytes) or SHA1 key
	// (1–20 bytes). It is copied.
	Key []byte
}

// Config configures a [Session]. The zero value is usable: every zero
// field takes its documented default. The caller's Config is copied.
type Config struct {
	// LocalDiscriminator is bfd.LocalDiscr. If zero, a random non-zero
	// value is drawn from Rand. A [Mux] picks unique values itself.
	LocalDiscriminator uint32
	// DesiredMinTxInterval is bfd.DesiredMinTxInterval while Up. If zero,
	// [DefaultDesiredMinTxInterval].
	DesiredMinTxInterval time.Duration
	// RequiredMinRxInterval is bfd.RequiredMinRxInterval. If zero,
	// [DefaultRequiredMinRxInterval]. (A session that wants to receive
	// nothing is not supported.)
	RequiredMinRxInterval time.Duration
	// DetectMultiplier is bfd.DetectMult. If zero, [DefaultDetectMultiplier].
	DetectMultiplier uint8
	// Passive selects the passive role (RFC 5880 §6.1): no packet is sent
	// before one has been received.
	Passive bool
	// Demand asks the peer to stop periodic transmission once both sides
	// are Up (RFC 5880 §6.6). Connectivity is then verified only when the
	// caller sends an [EventPoll].
	Demand bool
	// AdminDown starts the session in AdminDown.
	AdminDown bool
	// MinTTL is the least TTL or hop limit accepted on received packets.
	// If zero, 255 (single-hop, RFC 5881 §5). Set it to 1 to disable the
	// check (multi-hop without a TTL policy, RFC 5883 §5). Events that do
	// not report a TTL (zero) are not checked.
	MinTTL uint8
	// Auth enables authentication. The zero value disables it.
	Auth AuthConfig
	// Rand is the source of jitter and of the local discriminator. If nil,
	// the runtime's random source is used.
	Rand rand.Source
}

// Validate reports every invalid field of c.
func (c *Config) Validate() error {
	var errs []error
	if c.DesiredMinTxInterval < 0 || c.DesiredMinTxInterval > maxInterval {
		errs = append(errs, fmt.Errorf("bfd: desired min tx interval %v out of range", c.DesiredMinTxInterval))
	}
	if c.RequiredMinRxInterval < 0 || c.RequiredMinRxInterval > maxInterval {
		errs = append(errs, fmt.Errorf("bfd: required min rx interval %v out of range", c.RequiredMinRxInterval))
	}
	switch c.Auth.Type {
	case AuthNone:
	case AuthSimplePassword, AuthKeyedMD5, AuthMeticulousKeyedMD5, AuthKeyedSHA1, AuthMeticulousKeyedSHA1:
		if err := checkKey(c.Auth.Type, c.Auth.Key); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("bfd: unknown auth type %d", c.Auth.Type))
	}
	return errors.Join(errs...)
}

// Reason says why a session changed state.
type Reason uint8

// Reasons for transitions.
const (
	ReasonNone            Reason = iota // no reason recorded
	ReasonRemoteDown                    // the peer reported Down
	ReasonRemoteInit                    // the peer reported Init
	ReasonRemoteUp                      // the peer reported Up
	ReasonRemoteAdminDown               // the peer reported AdminDown
	ReasonDetectExpired                 // no packet within the detection time
	ReasonAdminDown                     // local administrative action
	ReasonAdminUp                       // local administrative action
)

var reasonNames = [...]string{"none", "peer reported Down", "peer reported Init", "peer reported Up",
	"peer reported AdminDown", "detection time expired", "admin down", "admin up"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// Transition is a change of the local session state.
type Transition struct {
	From, To State
	Diag     Diag // the local diagnostic after the change
	Reason   Reason
	At       time.Time
}

// DropReason says why a received packet was discarded (RFC 5880 §6.8.6,
// RFC 5881 §5).
type DropReason uint8

// Drop reasons.
const (
	DropNone                      DropReason = iota
	DropMalformed                            // did not decode
	DropTTL                                  // TTL/hop limit below MinTTL
	DropDetectMultZero                       // detect mult is zero
	DropMultipoint                           // M bit set
	DropMyDiscriminatorZero                  // my discriminator is zero
	DropYourDiscriminatorMismatch            // your discriminator is not ours
	DropYourDiscriminatorZero                // your discriminator zero in state Init/Up
	DropAuthMissing                          // authentication configured, A bit clear
	DropAuthUnexpected                       // A bit set, authentication not configured
	DropAuthType                             // wrong type or key ID
	DropAuthFailed                           // password or digest wrong
	DropAuthSequence                         // sequence number outside the window
	DropAdminDown                            // local session is AdminDown
	DropNoSession                            // no session matched (Mux)
	DropAddress                              // source address does not match the session (Mux)
	numDropReasons
)

// NumDropReasons is the number of drop reasons, the length of [Stats.Dropped].
const NumDropReasons = int(numDropReasons)

var dropNames = [...]string{"none", "malformed", "ttl", "detect mult zero", "multipoint",
	"my discriminator zero", "your discriminator mismatch", "your discriminator zero",
	"auth missing", "auth unexpected", "auth type or key id", "auth failed", "auth sequence",
	"admin down", "no session", "address"}

func (d DropReason) String() string {
	if int(d) < len(dropNames) {
		return dropNames[d]
	}
	return fmt.Sprintf("DropReason(%d)", uint8(d))
}

// Stats are a session's counters.
type Stats struct {
	Received    uint64 // packets accepted
	Sent        uint64 // packets sent
	Transitions uint64
	Dropped     [NumDropReasons]uint64 // indexed by DropReason
}

// EventKind selects the kind of an [Event].
type EventKind uint8

// Event kinds.
const (
	// EventTimer carries nothing: it lets the session run its timers. The
	// first event a session gets starts it.
	EventTimer EventKind = iota + 1
	// EventPacket is a received control packet.
	EventPacket
	// EventAdminDown takes the session administratively down with Diag
	// (zero means [DiagAdminDown]).
	EventAdminDown
	// EventAdminUp leaves AdminDown.
	EventAdminUp
	// EventSetTimers changes the local timing parameters (a Poll Sequence
	// follows, RFC 5880 §6.8.3).
	EventSetTimers
	// EventPoll starts a Poll Sequence, the way to verify connectivity in
	// Demand mode (RFC 5880 §6.6).
	EventPoll
)

// Timers are the local timing parameters. Zero fields keep their value.
type Timers struct {
	DesiredMinTxInterval  time.Duration
	RequiredMinRxInterval time.Duration
	DetectMultiplier      uint8
}

// Event is an input to [Session.Handle]. It is a plain value so handling
// one allocates nothing.
type Event struct {
	Kind EventKind
	// Packet is the decoded packet (EventPacket). It is not retained.
	Packet *ControlPacket
	// Raw is the encoded packet (EventPacket). It is needed only to verify
	// authentication and is not retained.
	Raw []byte
	// TTL is the received TTL or hop limit (EventPacket); zero means unknown.
	TTL uint8
	// Diag is the diagnostic for EventAdminDown.
	Diag Diag
	// Timers are the new parameters for EventSetTimers.
	Timers Timers
}

// ActionKind selects the kind of an [Action].
type ActionKind uint8

// Action kinds.
const (
	// ActionSend asks the caller to send Packet (encode it with
	// [Session.AppendPacket] so it is authenticated).
	ActionSend ActionKind = iota + 1
	// ActionTransition reports a state change.
	ActionTransition
)

// Action is an output of [Session.Handle].
type Action struct {
	Kind       ActionKind
	Packet     ControlPacket
	Transition Transition
}

// Status is a snapshot of a session's variables (RFC 5880 §6.8.1).
type Status struct {
	State, RemoteState                        State
	LocalDiag, RemoteDiag                     Diag
	LocalDiscriminator, RemoteDiscriminator   uint32
	DesiredMinTxInterval                      time.Duration // advertised now
	RequiredMinRxInterval                     time.Duration // advertised now
	DetectMultiplier                          uint8
	RemoteDesiredMinTxInterval                time.Duration
	RemoteMinRxInterval                       time.Duration
	RemoteDetectMultiplier                    uint8
	TxInterval                                time.Duration // negotiated periodic interval before jitter
	DetectionTime                             time.Duration // zero until a packet arrived
	Polling                                   bool
	DemandMode, RemoteDemandMode              bool
	LastReceived                              time.Time
	TransmitAuthSequence, ReceiveAuthSequence uint32
}

// Session is the pure state machine of one BFD session (RFC 5880 §6.8).
// It does no I/O and reads no clock: the caller passes the time with every
// [Session.Handle] call, performs the returned actions, and calls Handle
// again with [EventTimer] at [Session.NextDeadline]. A Session is not safe
// for concurrent use.
type Session struct {
	cfg Config
	key []byte
	rnd rand.Source

	state, remoteState    State
	localDiag, remoteDiag Diag
	localDiscr            uint32
	remoteDiscr           uint32

	desiredTx  time.Duration // configured bfd.DesiredMinTxInterval (Up)
	requiredRx time.Duration // configured bfd.RequiredMinRxInterval
	detectMult uint8

	advTx, advRx time.Duration // last advertised values
	txInUse      time.Duration // pacing value in effect
	rxInUse      time.Duration // detection value in effect

	remoteMinRx      time.Duration
	remoteDesiredTx  time.Duration
	remoteDetectMult uint8
	remoteDemand     bool

	polling    bool
	started    bool
	nextTx     time.Time
	lastTx     time.Time
	lastRx     time.Time
	detectAt   time.Time
	lastAuthRx time.Time

	rcvSeq  AuthSeq
	xmitSeq uint32
	txAuth  Auth

	stats Stats
	acts  []Action
}

// NewSession returns a session in state Down (or AdminDown), started by
// its first Handle call.
func NewSession(cfg Config) (*Session, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Session{cfg: cfg, rnd: cfg.Rand}
	if s.rnd == nil {
		s.rnd = runtimeSource{}
	}
	s.cfg.Rand = nil
	s.key = append([]byte(nil), cfg.Auth.Key...)
	s.cfg.Auth.Key = nil
	if s.cfg.DesiredMinTxInterval == 0 {
		s.cfg.DesiredMinTxInterval = DefaultDesiredMinTxInterval
	}
	if s.cfg.RequiredMinRxInterval == 0 {
		s.cfg.RequiredMinRxInterval = DefaultRequiredMinRxInterval
	}
	if s.cfg.DetectMultiplier == 0 {
		s.cfg.DetectMultiplier = DefaultDetectMultiplier
	}
	if s.cfg.MinTTL == 0 {
		s.cfg.MinTTL = 255
	}
	s.localDiscr = cfg.LocalDiscriminator
	for s.localDiscr == 0 {
		s.localDiscr = uint32(s.rnd.Uint64())
	}
	s.desiredTx = s.cfg.DesiredMinTxInterval
	s.requiredRx = s.cfg.RequiredMinRxInterval
	s.detectMult = s.cfg.DetectMultiplier
	s.state = StateDown
	if cfg.AdminDown {
		s.state = StateAdminDown
		s.localDiag = DiagAdminDown
	}
	s.remoteState = StateDown
	s.remoteMinRx = time.Microsecond // RFC 5880 §6.8.1 initial value
	s.advTx = s.advertisedTx()
	s.advRx = s.requiredRx
	s.txInUse, s.rxInUse = s.advTx, s.advRx
	switch s.cfg.Auth.Type {
	case AuthSimplePassword:
		s.txAuth = &SimplePassword{AuthKeyID: cfg.Auth.KeyID, Password: s.key}
	case AuthKeyedMD5, AuthMeticulousKeyedMD5:
		s.txAuth = &KeyedMD5{AuthKeyID: cfg.Auth.KeyID, Meticulous: s.cfg.Auth.Type.Meticulous()}
	case AuthKeyedSHA1, AuthMeticulousKeyedSHA1:
		s.txAuth = &KeyedSHA1{AuthKeyID: cfg.Auth.KeyID, Meticulous: s.cfg.Auth.Type.Meticulous()}
	}
	s.xmitSeq = uint32(s.rnd.Uint64())
	s.acts = make([]Action, 0, 2) // grows on the rare call with more actions
	return s, nil
}

type runtimeSource struct{}

func (runtimeSource) Uint64() uint64 { return rand.Uint64() }

// LocalDiscriminator returns bfd.LocalDiscr.
func (s *Session) LocalDiscriminator() uint32 { return s.localDiscr }

// State returns the local session state.
func (s *Session) State() State { return s.state }

// Stats returns the session's counters.
func (s *Session) Stats() Stats { return s.stats }

// Status returns a snapshot of the session's variables.
func (s *Session) Status() Status {
	st := Status{
		State: s.state, RemoteState: s.remoteState,
		LocalDiag: s.localDiag, RemoteDiag: s.remoteDiag,
		LocalDiscriminator: s.localDiscr, RemoteDiscriminator: s.remoteDiscr,
		DesiredMinTxInterval: s.advTx, RequiredMinRxInterval: s.advRx, DetectMultiplier: s.detectMult,
		RemoteDesiredMinTxInterval: s.remoteDesiredTx, RemoteMinRxInterval: s.remoteMinRx,
		RemoteDetectMultiplier: s.remoteDetectMult,
		TxInterval:             max(s.txInUse, s.remoteMinRx),
		Polling:                s.polling,
		DemandMode:             s.demandActive(), RemoteDemandMode: s.remoteDemand,
		LastReceived:         s.lastRx,
		TransmitAuthSequence: s.xmitSeq, ReceiveAuthSequence: s.rcvSeq.Last,
	}
	if s.remoteDetectMult != 0 {
		st.DetectionTime = s.detectionTime()
	}
	return st
}

// NextDeadline returns when the session next needs an [EventTimer], or the
// zero Time if nothing is scheduled. A session not yet started returns the
// zero Time too: give it its first event.
func (s *Session) NextDeadline() time.Time {
	d := s.nextTx
	if !s.detectAt.IsZero() && (d.IsZero() || s.detectAt.Before(d)) {
		d = s.detectAt
	}
	return d
}

// AppendPacket appends the encoding of p (from an [ActionSend]) to b and
// signs it with the session's key when authentication is configured.
func (s *Session) AppendPacket(b []byte, p *ControlPacket) ([]byte, error) {
	start := len(b)
	b, err := p.AppendBinary(b)
	if err != nil {
		return b, err
	}
	if p.Auth != nil && s.cfg.Auth.Type != AuthSimplePassword && s.cfg.Auth.Type != AuthNone {
		if err := Sign(b[start:], s.key); err != nil {
			return b[:start], err
		}
	}
	return b, nil
}

// Handle processes ev at time now and returns the actions to perform, in
// order. The returned slice and the packets in it are valid until the
// next call. Handle never fails: bad packets are counted in [Stats].
func (s *Session) Handle(now time.Time, ev Event) []Action {
	s.acts = s.acts[:0]
	if !s.started {
		s.started = true
		s.schedule(now, true)
	}
	switch ev.Kind {
	case EventPacket:
		if ev.Packet != nil {
			s.receive(now, ev)
		}
	case EventAdminDown:
		if s.state != StateAdminDown {
			d := ev.Diag
			if d == DiagNone {
				d = DiagAdminDown
			}
			s.detectAt = time.Time{}
			s.setState(now, StateAdminDown, d, ReasonAdminDown)
			if s.mayTransmitPeriodic() && s.remoteDiscr != 0 {
				// Tell the peer at once rather than at the next slow interval.
				s.send(now, false)
				s.nextTx = now.Add(s.jitter(s.txInterval()))
			}
		}
	case EventAdminUp:
		if s.state == StateAdminDown {
			s.setState(now, StateDown, DiagNone, ReasonAdminUp)
		}
	case EventSetTimers:
		t := ev.Timers
		if t.DesiredMinTxInterval > 0 && t.DesiredMinTxInterval <= maxInterval {
			s.desiredTx = t.DesiredMinTxInterval
		}
		if t.RequiredMinRxInterval > 0 && t.RequiredMinRxInterval <= maxInterval {
			s.requiredRx = t.RequiredMinRxInterval
		}
		if t.DetectMultiplier != 0 {
			s.detectMult = t.DetectMultiplier
		}
		s.paramsChanged(now, true)
	case EventPoll:
		if s.remoteDiscr != 0 && !s.polling {
			s.polling = true
			if s.demandActive() {
				s.lastRx = now
				s.detectAt = now.Add(s.detectionTime())
			}
			s.schedule(now, true)
		}
	}
	s.timers(now)
	return s.acts
}

func (s *Session) advertisedTx() time.Duration {
	if s.state != StateUp {
		return max(s.desiredTx, SlowTxInterval)
	}
	return s.desiredTx
}

func (s *Session) demandActive() bool {
	return s.cfg.Demand && s.state == StateUp && s.remoteState == StateUp
}

// detectionTime implements RFC 5880 §6.8.4.
func (s *Session) detectionTime() time.Duration {
	if s.demandActive() {
		return time.Duration(s.detectMult) * max(s.txInUse, s.remoteMinRx)
	}
	return time.Duration(s.remoteDetectMult) * max(s.rxInUse, s.remoteDesiredTx)
}

// paramsChanged applies the poll sequence rules of RFC 5880 §6.8.3 after
// the advertised intervals may have changed.
func (s *Session) paramsChanged(now time.Time, explicit bool) {
	newTx, newRx := s.advertisedTx(), s.requiredRx
	if newTx == s.advTx && newRx == s.advRx && !explicit {
		return
	}
	changed := newTx != s.advTx || newRx != s.advRx
	s.advTx, s.advRx = newTx, newRx
	up := s.state == StateUp
	if !up || newTx < s.txInUse {
		s.txInUse = newTx
	}
	if !up || newRx > s.rxInUse {
		s.rxInUse = newRx
	}
	if (changed || explicit) && s.remoteDiscr != 0 && s.state != StateAdminDown {
		s.polling = true
	} else {
		s.txInUse, s.rxInUse = newTx, newRx
	}
	s.rearmDetect()
	s.schedule(now, false)
}

// pollDone ends a poll sequence (F received).
func (s *Session) pollDone() {
	s.polling = false
	s.txInUse, s.rxInUse = s.advTx, s.advRx
}

func (s *Session) rearmDetect() {
	if s.lastRx.IsZero() || s.remoteDiscr == 0 || s.state == StateAdminDown {
		return
	}
	if s.demandActive() && !s.polling {
		s.detectAt = time.Time{}
		return
	}
	s.detectAt = s.lastRx.Add(s.detectionTime())
}

func (s *Session) mayTransmitPeriodic() bool {
	switch {
	case s.cfg.Passive && s.remoteDiscr == 0:
		return false
	case s.remoteMinRx == 0:
		return false
	case s.remoteDemand && s.state == StateUp && s.remoteState == StateUp && !s.polling:
		return false
	}
	return true
}

// txInterval returns the periodic interval before jitter (§6.8.7).
func (s *Session) txInterval() time.Duration {
	return max(s.txInUse, s.remoteMinRx)
}

// jitter reduces iv by 0–25 %, or 10–25 % with a detect multiplier of 1.
func (s *Session) jitter(iv time.Duration) time.Duration {
	lo, span := uint64(75), uint64(26) // 75..100 %
	if s.detectMult == 1 {
		span = 16 // 75..90 %
	}
	pct := lo + s.rnd.Uint64()%span
	return iv * time.Duration(pct) / 100
}

// schedule (re)computes nextTx. With now set, a session that may transmit
// and has nothing scheduled sends at once; otherwise nextTx is only pulled
// earlier when the interval shrank.
func (s *Session) schedule(now time.Time, immediate bool) {
	if !s.mayTransmitPeriodic() {
		s.nextTx = time.Time{}
		return
	}
	if s.nextTx.IsZero() {
		if immediate || s.lastTx.IsZero() {
			s.nextTx = now
		} else {
			s.nextTx = s.lastTx.Add(s.jitter(s.txInterval()))
			if s.nextTx.Before(now) {
				s.nextTx = now
			}
		}
		return
	}
	if !s.lastTx.IsZero() {
		if limit := s.lastTx.Add(s.txInterval()); limit.Before(s.nextTx) {
			s.nextTx = s.lastTx.Add(s.jitter(s.txInterval()))
		}
	}
}

func (s *Session) timers(now time.Time) {
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.detectAt = time.Time{}
		s.remoteDiscr = 0
		s.remoteDemand = false
		s.remoteState = StateDown
		if s.polling {
			s.pollDone()
		}
		if s.state == StateInit || s.state == StateUp {
			s.setState(now, StateDown, DiagControlDetectExpired, ReasonDetectExpired)
		}
		s.schedule(now, false)
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		if s.mayTransmitPeriodic() {
			s.send(now, false)
			s.nextTx = now.Add(s.jitter(s.txInterval()))
		} else {
			s.nextTx = time.Time{}
		}
	}
}

func (s *Session) send(now time.Time, final bool) {
	p := ControlPacket{
		Diag:                  s.localDiag,
		State:                 s.state,
		Poll:                  s.polling && !final,
		Final:                 final,
		Demand:                s.demandActive(),
		DetectMult:            s.detectMult,
		MyDiscriminator:       s.localDiscr,
		YourDiscriminator:     s.remoteDiscr,
		DesiredMinTxInterval:  s.advTx,
		RequiredMinRxInterval: s.advRx,
	}
	if s.txAuth != nil {
		s.xmitSeq++
		setSequence(s.txAuth, s.xmitSeq)
		p.Auth = s.txAuth
	}
	if !final {
		s.lastTx = now
	}
	s.stats.Sent++
	s.acts = append(s.acts, Action{Kind: ActionSend, Packet: p})
}

func (s *Session) setState(now time.Time, to State, diag Diag, r Reason) {
	from := s.state
	s.state = to
	s.localDiag = diag
	s.stats.Transitions++
	s.acts = append(s.acts, Action{Kind: ActionTransition, Transition: Transition{From: from, To: to, Diag: diag, Reason: r, At: now}})
	s.paramsChanged(now, false)
}

func (s *Session) drop(r DropReason) { s.stats.Dropped[r]++ }

// receive implements the reception rules of RFC 5880 §6.8.6.
func (s *Session) receive(now time.Time, ev Event) {
	p := ev.Packet
	switch {
	case ev.TTL != 0 && ev.TTL < s.cfg.MinTTL:
		s.drop(DropTTL)
		return
	case p.DetectMult == 0:
		s.drop(DropDetectMultZero)
		return
	case p.Multipoint:
		s.drop(DropMultipoint)
		return
	case p.MyDiscriminator == 0:
		s.drop(DropMyDiscriminatorZero)
		return
	case p.YourDiscriminator != 0 && p.YourDiscriminator != s.localDiscr:
		s.drop(DropYourDiscriminatorMismatch)
		return
	case p.YourDiscriminator == 0 && p.State != StateDown && p.State != StateAdminDown:
		s.drop(DropYourDiscriminatorZero)
		return
	}
	if r := s.checkAuth(now, ev); r != DropNone {
		s.drop(r)
		return
	}
	if s.state == StateAdminDown {
		s.drop(DropAdminDown)
		return
	}
	s.stats.Received++
	wasDemand := s.remoteDemand
	s.remoteDiscr = p.MyDiscriminator
	s.remoteState = p.State
	s.remoteDiag = p.Diag
	s.remoteDemand = p.Demand
	s.remoteMinRx = p.RequiredMinRxInterval
	s.remoteDesiredTx = p.DesiredMinTxInterval
	s.remoteDetectMult = p.DetectMult
	s.lastRx = now
	if p.Final && s.polling {
		s.pollDone()
	}
	switch {
	case p.State == StateAdminDown:
		if s.state != StateDown {
			s.setState(now, StateDown, DiagNeighborDown, ReasonRemoteAdminDown)
		}
	case s.state == StateDown:
		switch p.State {
		case StateDown:
			s.setState(now, StateInit, DiagNone, ReasonRemoteDown)
		case StateInit:
			s.setState(now, StateUp, DiagNone, ReasonRemoteInit)
		}
	case s.state == StateInit:
		switch p.State {
		case StateInit:
			s.setState(now, StateUp, DiagNone, ReasonRemoteInit)
		case StateUp:
			s.setState(now, StateUp, DiagNone, ReasonRemoteUp)
		}
	case s.state == StateUp:
		if p.State == StateDown {
			s.setState(now, StateDown, DiagNeighborDown, ReasonRemoteDown)
		}
	}
	s.rearmDetect()
	if p.Poll {
		s.send(now, true)
	}
	if wasDemand && !s.remoteDemand && s.nextTx.IsZero() {
		s.schedule(now, true)
		return
	}
	s.schedule(now, s.nextTx.IsZero() && s.lastTx.IsZero())
}

func (s *Session) checkAuth(now time.Time, ev Event) DropReason {
	p := ev.Packet
	if s.cfg.Auth.Type == AuthNone {
		if p.Auth != nil {
			return DropAuthUnexpected
		}
		return DropNone
	}
	if p.Auth == nil {
		return DropAuthMissing
	}
	if p.Auth.Type() != s.cfg.Auth.Type || p.Auth.KeyID() != s.cfg.Auth.KeyID {
		return DropAuthType
	}
	if ev.Raw == nil || Verify(ev.Raw, s.key) != nil {
		return DropAuthFailed
	}
	seq, keyed := sequence(p.Auth)
	if !keyed {
		return DropNone
	}
	if s.rcvSeq.Known && s.remoteDetectMult != 0 && now.Sub(s.lastAuthRx) > 2*s.detectionTime() {
		s.rcvSeq.Known = false // §6.7.3: no packet for twice the detection time
	}
	if !s.rcvSeq.Accept(seq, s.cfg.Auth.Type.Meticulous(), p.DetectMult) {
		return DropAuthSequence
	}
	s.lastAuthRx = now
	return DropNone
}
