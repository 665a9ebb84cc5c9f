package ipvs

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Family is an address family of a virtual service.
type Family uint16

// Address families, with the Linux AF_* values.
const (
	IPv4 Family = 2  // AF_INET
	IPv6 Family = 10 // AF_INET6
)

func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return fmt.Sprintf("Family(%d)", uint16(f))
}

// Protocol is the transport protocol of a virtual service (an IP protocol
// number). The zero value is used by fwmark services.
type Protocol uint16

// Transport protocols supported by IPVS.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	case 0:
		return "none"
	}
	return fmt.Sprintf("Protocol(%d)", uint16(p))
}

// ServiceKey identifies a virtual service: either (family, protocol,
// address, port) or (family, fwmark). It is comparable and used as a map
// key. Build one with [TCPService], [UDPService], [SCTPService] or
// [FWMarkService]; the zero value is invalid.
type ServiceKey struct {
	Family   Family
	Protocol Protocol   // zero for fwmark services
	Addr     netip.Addr // invalid for fwmark services
	Port     uint16
	FWMark   uint32 // nonzero for fwmark services
}

func addrKey(p Protocol, ap netip.AddrPort) ServiceKey {
	a := ap.Addr().Unmap()
	f := IPv4
	if a.Is6() {
		f = IPv6
	}
	return ServiceKey{Family: f, Protocol: p, Addr: a, Port: ap.Port()}
}

// TCPService returns the key of a TCP virtual service (ipvsadm -t).
func TCPService(ap netip.AddrPort) ServiceKey { return addrKey(TCP, ap) }

// UDPService returns the key of a UDP virtual service (ipvsadm -u).
func UDPService(ap netip.AddrPort) ServiceKey { return addrKey(UDP, ap) }

// SCTPService returns the key of an SCTP virtual service (ipvsadm --sctp-service).
func SCTPService(ap netip.AddrPort) ServiceKey { return addrKey(SCTP, ap) }

// FWMarkService returns the key of a firewall-mark virtual service
// (ipvsadm -f) of the given family.
func FWMarkService(f Family, mark uint32) ServiceKey {
	return ServiceKey{Family: f, FWMark: mark}
}

// IsFWMark reports whether k is a firewall-mark service.
func (k ServiceKey) IsFWMark() bool { return k.FWMark != 0 }

// String formats k as ipvsadm -Ln does ("TCP 192.0.2.1:80", "FWM 42",
// "FWM 42 IPv6").
func (k ServiceKey) String() string {
	if k.IsFWMark() {
		if k.Family == IPv6 {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// Compare orders keys: family, fwmark services after address services, then
// protocol, address, port, mark.
func (k ServiceKey) Compare(o ServiceKey) int {
	if c := cmp.Compare(k.Family, o.Family); c != 0 {
		return c
	}
	if k.IsFWMark() != o.IsFWMark() {
		if k.IsFWMark() {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(k.Protocol, o.Protocol); c != 0 {
		return c
	}
	if c := k.Addr.Compare(o.Addr); c != 0 {
		return c
	}
	if c := cmp.Compare(k.Port, o.Port); c != 0 {
		return c
	}
	return cmp.Compare(k.FWMark, o.FWMark)
}

func (k ServiceKey) validate() []error {
	var errs []error
	if k.Family != IPv4 && k.Family != IPv6 {
		errs = append(errs, fmt.Errorf("family %v: want IPv4 or IPv6", k.Family))
	}
	if k.IsFWMark() {
		if k.Protocol != 0 || k.Addr.IsValid() || k.Port != 0 {
			errs = append(errs, errors.New("fwmark service must not set protocol, address or port"))
		}
		return errs
	}
	switch k.Protocol {
	case TCP, UDP, SCTP:
	default:
		errs = append(errs, fmt.Errorf("protocol %v: want TCP, UDP or SCTP (or set FWMark)", k.Protocol))
	}
	switch {
	case !k.Addr.IsValid():
		errs = append(errs, errors.New("address missing"))
	case k.Addr.Zone() != "":
		errs = append(errs, fmt.Errorf("address %v: zones are not supported", k.Addr))
	case k.Addr.Is4In6():
		errs = append(errs, fmt.Errorf("address %v: use the plain IPv4 form", k.Addr))
	case k.Addr.Is4() != (k.Family == IPv4):
		errs = append(errs, fmt.Errorf("address %v does not match family %v", k.Addr, k.Family))
	}
	if k.Port == 0 {
		errs = append(errs, errors.New("port 0: a virtual service needs a port"))
	}
	return errs
}

// Scheduler names a Linux IPVS scheduling algorithm (the kernel module
// ip_vs_<name>). The zero value means [WLC], the kernel tools' default.
type Scheduler string

// The Linux IPVS schedulers.
const (
	RR    Scheduler = "rr"    // round robin
	WRR   Scheduler = "wrr"   // weighted round robin
	LC    Scheduler = "lc"    // least connections
	WLC   Scheduler = "wlc"   // weighted least connections
	LBLC  Scheduler = "lblc"  // locality-based least connections
	LBLCR Scheduler = "lblcr" // locality-based least connections with replication
	DH    Scheduler = "dh"    // destination hashing
	SH    Scheduler = "sh"    // source hashing
	SED   Scheduler = "sed"   // shortest expected delay
	NQ    Scheduler = "nq"    // never queue
	FO    Scheduler = "fo"    // weighted failover
	OVF   Scheduler = "ovf"   // weighted overflow
	MH    Scheduler = "mh"    // maglev hashing
)

// Schedulers lists every scheduler Linux provides.
func Schedulers() []Scheduler {
	return []Scheduler{RR, WRR, LC, WLC, LBLC, LBLCR, DH, SH, SED, NQ, FO, OVF, MH}
}

func (s Scheduler) orDefault() Scheduler {
	if s == "" {
		return WLC
	}
	return s
}

// SchedFlags are the service flags that tune a scheduler or packet handling.
type SchedFlags uint32

// Service flags. SH and MH share the kernel's IP_VS_SVC_F_SCHED1/2 bits.
const (
	OnePacket  SchedFlags = 0x0004 // schedule each UDP datagram separately (ipvsadm -o, --ops)
	SHFallback SchedFlags = 0x0008 // sh: skip unavailable servers (sh-fallback)
	SHPort     SchedFlags = 0x0010 // sh: hash the source port too (sh-port)
	MHFallback SchedFlags = 0x0008 // mh: skip unavailable servers (mh-fallback)
	MHPort     SchedFlags = 0x0010 // mh: hash the source port too (mh-port)
	sched3     SchedFlags = 0x0020

	flagPersistent SchedFlags = 0x0001
	flagHashed     SchedFlags = 0x0002
	userFlags                 = OnePacket | SHFallback | SHPort | sched3
)

// Persistence makes a client stick to one real server (ipvsadm -p, -M,
// --pe). The zero value means no persistence.
type Persistence struct {
	// Timeout is the persistence timeout, in whole seconds. Zero disables
	// persistence.
	Timeout time.Duration
	// Netmask is the prefix length that groups clients (ipvsadm -M). If
	// zero, 32 for IPv4 and 128 for IPv6.
	Netmask int
	// Engine is an optional persistence engine ("sip").
	Engine string
}

// Forward is a real server's packet-forwarding method.
type Forward uint8

// Forwarding methods, with the kernel's IP_VS_CONN_F_* values. The zero
// value is NAT.
const (
	NAT    Forward = 0 // masquerading (ipvsadm -m)
	Local  Forward = 1 // local node
	Tunnel Forward = 2 // IP tunnelling (ipvsadm -i)
	Route  Forward = 3 // direct routing, "DR" (ipvsadm -g)
)

func (f Forward) String() string {
	switch f {
	case NAT:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Route:
		return "Route"
	}
	return fmt.Sprintf("Forward(%d)", uint8(f))
}

// TunnelType is the encapsulation used by the [Tunnel] method.
type TunnelType uint8

// Tunnel types (kernel IP_VS_CONN_F_TUNNEL_TYPE_*). The zero value is IPIP.
const (
	IPIP TunnelType = 0
	GUE  TunnelType = 1
	GRE  TunnelType = 2
)

func (t TunnelType) String() string {
	switch t {
	case IPIP:
		return "ipip"
	case GUE:
		return "gue"
	case GRE:
		return "gre"
	}
	return fmt.Sprintf("TunnelType(%d)", uint8(t))
}

// TunnelFlags select tunnel checksums (GUE and GRE).
type TunnelFlags uint16

// Tunnel flags (kernel IP_VS_TUNNEL_ENCAP_FLAG_*); zero means no checksum.
const (
	TunnelCsum    TunnelFlags = 1 << 0
	TunnelRemCsum TunnelFlags = 1 << 1
)

// Destination is a real server of a virtual service.
type Destination struct {
	// Addr is the real server's address and port. For fwmark services and
	// the Route and Tunnel methods, port 0 means "the packet's port".
	Addr netip.AddrPort
	// Weight is the scheduling weight, 0..65535. Weight 0 takes no new
	// connections (quiesced).
	Weight int
	// Forward is the forwarding method; the zero value is NAT.
	Forward Forward
	// TunnelType, TunnelPort and TunnelFlags apply to the Tunnel method.
	// GUE needs a TunnelPort.
	TunnelType  TunnelType
	TunnelPort  uint16
	TunnelFlags TunnelFlags
	// UpperThreshold and LowerThreshold bound the connections of the server
	// (ipvsadm -x, -y); zero means no limit.
	UpperThreshold uint32
	LowerThreshold uint32

	// Counters is read from the kernel; Plan and Validate ignore it.
	Counters Counters
}

// Counters are a real server's connection counts and traffic statistics.
type Counters struct {
	ActiveConns   uint32
	InactiveConns uint32
	PersistConns  uint32
	Stats         Stats
}

// Stats are IPVS traffic counters and rate estimates.
type Stats struct {
	Conns    uint64
	PktsIn   uint64
	PktsOut  uint64
	BytesIn  uint64
	BytesOut uint64
	CPS      uint64 // connections per second
	PPSIn    uint64
	PPSOut   uint64
	BPSIn    uint64
	BPSOut   uint64
}

// config returns d without the kernel-maintained fields.
func (d Destination) config() Destination {
	d.Counters = Counters{}
	if d.Forward != Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	if d.TunnelType == IPIP {
		d.TunnelPort, d.TunnelFlags = 0, 0
	}
	return d
}

// Service is a virtual service and its real servers.
type Service struct {
	Key ServiceKey
	// Scheduler is the scheduling algorithm; if empty, WLC.
	Scheduler Scheduler
	// Flags are scheduler and packet flags (sh/mh flags, OnePacket).
	Flags       SchedFlags
	Persistence Persistence
	// Destinations are the real servers, keyed by Addr.
	Destinations []Destination

	// Stats is read from the kernel; Plan and Validate ignore it.
	Stats Stats
}

// attrs is the comparable, normalized configuration of a service.
type svcAttrs struct {
	sched   Scheduler
	flags   SchedFlags
	timeout time.Duration
	netmask int
	engine  string
}

func (s *Service) attrs() svcAttrs {
	return svcAttrs{
		sched:   s.Scheduler.orDefault(),
		flags:   s.Flags & userFlags,
		timeout: s.Persistence.Timeout,
		netmask: s.netmask(),
		engine:  s.Persistence.Engine,
	}
}

func (s *Service) netmask() int {
	if s.Persistence.Netmask != 0 {
		return s.Persistence.Netmask
	}
	if s.Key.Family == IPv6 {
		return 128
	}
	return 32
}

// Destination returns the real server with address a.
func (s *Service) Destination(a netip.AddrPort) (Destination, bool) {
	for _, d := range s.Destinations {
		if d.Addr == a {
			return d, true
		}
	}
	return Destination{}, false
}

// Clone returns a deep copy of s.
func (s Service) Clone() Service {
	s.Destinations = slices.Clone(s.Destinations)
	return s
}

// Timeouts are the global IPVS connection timeouts (ipvsadm --set), in
// whole seconds. A zero field means "leave unchanged".
type Timeouts struct {
	TCP    time.Duration
	TCPFin time.Duration
	UDP    time.Duration
}

// State is a set of virtual services and, optionally, global timeouts. As
// desired state it names everything the caller wants; read from a kernel it
// is everything there.
type State struct {
	Services []Service
	// Timeouts, if not nil, are set in the kernel. Fields that are zero are
	// not managed.
	Timeouts *Timeouts
}

// Service returns the service with key k.
func (st *State) Service(k ServiceKey) (Service, bool) {
	for _, s := range st.Services {
		if s.Key == k {
			return s, true
		}
	}
	return Service{}, false
}

// Clone returns a deep copy of st.
func (st State) Clone() State {
	st.Services = slices.Clone(st.Services)
	for i := range st.Services {
		st.Services[i] = st.Services[i].Clone()
	}
	if st.Timeouts != nil {
		t := *st.Timeouts
		st.Timeouts = &t
	}
	return st
}

// Group is a virtual-server group (keepalived virtual_server_group): a set
// of service keys that share one configuration and one set of real servers.
type Group struct {
	Name string
	Keys []ServiceKey
}

// Expand returns one service per key of g, each a copy of template with the
// key replaced.
func (g Group) Expand(template Service) []Service {
	out := make([]Service, 0, len(g.Keys))
	for _, k := range g.Keys {
		s := template.Clone()
		s.Key = k
		out = append(out, s)
	}
	return out
}

// AddrRange returns the keys of protocol p for addresses first..last
// (inclusive, at most 65536) and one port, like keepalived's
// "192.0.2.1-10 80" group entries.
func AddrRange(p Protocol, first, last netip.Addr, port uint16) ([]ServiceKey, error) {
	if !first.IsValid() || !last.IsValid() || first.Is4() != last.Is4() || last.Less(first) {
		return nil, fmt.Errorf("ipvs: bad address range %v-%v", first, last)
	}
	var out []ServiceKey
	for a := first; ; a = a.Next() {
		if len(out) == 1<<16 {
			return nil, fmt.Errorf("ipvs: address range %v-%v too large", first, last)
		}
		out = append(out, addrKey(p, netip.AddrPortFrom(a, port)))
		if a == last {
			return out, nil
		}
	}
}

func wholeSeconds(d time.Duration) bool {
	return d >= 0 && d%time.Second == 0 && d/time.Second <= 1<<31
}

// Validate checks s and returns every problem found, joined.
func (s *Service) Validate() error {
	errs := s.Key.validate()
	if !slices.Contains(Schedulers(), s.Scheduler.orDefault()) {
		errs = append(errs, fmt.Errorf("scheduler %q: want one of %v", s.Scheduler, Schedulers()))
	}
	if s.Flags&^userFlags != 0 {
		errs = append(errs, fmt.Errorf("flags %#x: unknown bits", uint32(s.Flags)))
	}
	if s.Flags&(SHFallback|SHPort) != 0 {
		if sc := s.Scheduler.orDefault(); sc != SH && sc != MH {
			errs = append(errs, fmt.Errorf("flags %#x: fallback/port flags need the sh or mh scheduler", uint32(s.Flags)))
		}
	}
	if s.Flags&sched3 != 0 {
		errs = append(errs, errors.New("flags: scheduler flag 3 is not used by any scheduler"))
	}
	if s.Flags&OnePacket != 0 && s.Key.Protocol != UDP && !s.Key.IsFWMark() {
		errs = append(errs, errors.New("one-packet scheduling needs a UDP or fwmark service"))
	}
	p := s.Persistence
	if !wholeSeconds(p.Timeout) {
		errs = append(errs, fmt.Errorf("persistence timeout %v: want whole seconds >= 0", p.Timeout))
	}
	maxBits := 32
	if s.Key.Family == IPv6 {
		maxBits = 128
	}
	if p.Netmask < 0 || p.Netmask > maxBits {
		errs = append(errs, fmt.Errorf("persistence netmask /%d: want 1..%d", p.Netmask, maxBits))
	}
	if (p.Netmask != 0 || p.Engine != "") && p.Timeout == 0 {
		errs = append(errs, errors.New("persistence netmask or engine set without a timeout"))
	}
	if p.Engine != "" && p.Engine != "sip" {
		errs = append(errs, fmt.Errorf("persistence engine %q: want sip", p.Engine))
	}
	seen := make(map[netip.AddrPort]bool, len(s.Destinations))
	for _, d := range s.Destinations {
		if seen[d.Addr] {
			errs = append(errs, fmt.Errorf("real server %v: duplicate", d.Addr))
			continue
		}
		seen[d.Addr] = true
		for _, e := range d.validate(s.Key) {
			errs = append(errs, fmt.Errorf("real server %v: %w", d.Addr, e))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("ipvs: service %v: %w", s.Key, errors.Join(errs...))
}

func (d Destination) validate(k ServiceKey) []error {
	var errs []error
	a := d.Addr.Addr()
	switch {
	case !a.IsValid():
		errs = append(errs, errors.New("address missing"))
	case a.Zone() != "" || a.Is4In6():
		errs = append(errs, fmt.Errorf("address %v: want a plain address without zone", a))
	case a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		errs = append(errs, fmt.Errorf("address %v: want a unicast address", a))
	case a.Is4() != (k.Family == IPv4) && d.Forward != Tunnel:
		errs = append(errs, fmt.Errorf("address family differs from the service: only the Tunnel method may mix families"))
	}
	if d.Addr.Port() == 0 && d.Forward == NAT && !k.IsFWMark() {
		errs = append(errs, errors.New("NAT needs a real-server port"))
	}
	if d.Weight < 0 || d.Weight > 65535 {
		errs = append(errs, fmt.Errorf("weight %d: want 0..65535", d.Weight))
	}
	switch d.Forward {
	case NAT, Local, Tunnel, Route:
	default:
		errs = append(errs, fmt.Errorf("forwarding method %d unknown", d.Forward))
	}
	if d.Forward == Tunnel {
		switch d.TunnelType {
		case IPIP, GRE:
		case GUE:
			if d.TunnelPort == 0 {
				errs = append(errs, errors.New("gue tunnel needs a tunnel port"))
			}
		default:
			errs = append(errs, fmt.Errorf("tunnel type %d unknown", d.TunnelType))
		}
		if d.TunnelFlags&^(TunnelCsum|TunnelRemCsum) != 0 {
			errs = append(errs, fmt.Errorf("tunnel flags %#x unknown", uint16(d.TunnelFlags)))
		}
	}
	if d.LowerThreshold > d.UpperThreshold {
		// The kernel rejects this even when the upper threshold is 0 (no limit).
		errs = append(errs, fmt.Errorf("lower threshold %d above upper threshold %d", d.LowerThreshold, d.UpperThreshold))
	}
	return errs
}

// Validate checks every service of st and the timeouts, and that no key
// repeats.
func (st *State) Validate() error {
	var errs []error
	seen := make(map[ServiceKey]bool, len(st.Services))
	for i := range st.Services {
		s := &st.Services[i]
		if seen[s.Key] {
			errs = append(errs, fmt.Errorf("ipvs: service %v: duplicate", s.Key))
			continue
		}
		seen[s.Key] = true
		if err := s.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if t := st.Timeouts; t != nil {
		for _, d := range []time.Duration{t.TCP, t.TCPFin, t.UDP} {
			if !wholeSeconds(d) {
				errs = append(errs, fmt.Errorf("ipvs: timeout %v: want whole seconds >= 0", d))
			}
		}
	}
	return errors.Join(errs...)
}

// String formats d in ipvsadm -Ln style.
func (d Destination) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v w%d", d.Addr, d.Forward, d.Weight)
	if d.Forward == Tunnel && d.TunnelType != IPIP {
		fmt.Fprintf(&b, " %v:%d", d.TunnelType, d.TunnelPort)
	}
	if d.UpperThreshold != 0 || d.LowerThreshold != 0 {
		fmt.Fprintf(&b, " x%d y%d", d.UpperThreshold, d.LowerThreshold)
	}
	return b.String()
}
