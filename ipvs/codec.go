package ipvs

// The IPVS generic netlink codec (family "IPVS", version 1), written from
// include/uapi/linux/ip_vs.h. Pure code: the Linux socket is in
// kernel_linux.go.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"
)

// Commands.
const (
	cmdNewService = 1
	cmdSetService = 2
	cmdDelService = 3
	cmdGetService = 4
	cmdNewDest    = 5
	cmdSetDest    = 6
	cmdDelDest    = 7
	cmdGetDest    = 8
	cmdNewDaemon  = 9
	cmdDelDaemon  = 10
	cmdGetDaemon  = 11
	cmdSetConfig  = 12
	cmdGetConfig  = 13
	cmdZero       = 16
	genlVersion   = 1
)

// Top-level attributes.
const (
	attrService    = 1
	attrDest       = 2
	attrDaemon     = 3
	attrTimeoutTCP = 4
	attrTimeoutFin = 5
	attrTimeoutUDP = 6
)

// Service attributes.
const (
	svcAF        = 1
	svcProtocol  = 2
	svcAddr      = 3
	svcPort      = 4
	svcFWMark    = 5
	svcSchedName = 6
	svcFlags     = 7
	svcTimeout   = 8
	svcNetmask   = 9
	svcStats     = 10
	svcPEName    = 11
	svcStats64   = 12
)

// Destination attributes.
const (
	dstAddr         = 1
	dstPort         = 2
	dstFwdMethod    = 3
	dstWeight       = 4
	dstUThresh      = 5
	dstLThresh      = 6
	dstActiveConns  = 7
	dstInactConns   = 8
	dstPersistConns = 9
	dstStats        = 10
	dstAddrFamily   = 11
	dstStats64      = 12
	dstTunType      = 13
	dstTunPort      = 14
	dstTunFlags     = 15
)

// Daemon attributes.
const (
	daemonState      = 1
	daemonMcastIfn   = 2
	daemonSyncID     = 3
	daemonSyncMaxLen = 4
	daemonGroup      = 5
	daemonGroup6     = 6
	daemonPort       = 7
	daemonTTL        = 8
)

var ne = binary.NativeEndian

// attrs builds a netlink attribute stream.
type attrs []byte

func (a attrs) put(typ uint16, v []byte) attrs {
	n := 4 + len(v)
	a = ne.AppendUint16(a, uint16(n))
	a = ne.AppendUint16(a, typ)
	a = append(a, v...)
	for n%4 != 0 {
		a = append(a, 0)
		n++
	}
	return a
}

func (a attrs) u8(typ uint16, v uint8) attrs   { return a.put(typ, []byte{v}) }
func (a attrs) u16(typ uint16, v uint16) attrs { return a.put(typ, ne.AppendUint16(nil, v)) }
func (a attrs) u32(typ uint16, v uint32) attrs { return a.put(typ, ne.AppendUint32(nil, v)) }
func (a attrs) be16(typ uint16, v uint16) attrs {
	return a.put(typ, binary.BigEndian.AppendUint16(nil, v))
}
func (a attrs) str(typ uint16, s string) attrs { return a.put(typ, append([]byte(s), 0)) }

var errMalformed = errors.New("malformed netlink attributes")

// forAttrs calls fn for each attribute of b, without allocating; it stops
// at fn's first error or at malformed input. It never panics.
func forAttrs(b []byte, fn func(typ uint16, v []byte) error) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return fmt.Errorf("%w: %d trailing bytes", errMalformed, len(b))
		}
		n := int(ne.Uint16(b))
		if n < 4 || n > len(b) {
			return fmt.Errorf("%w: attribute length %d of %d", errMalformed, n, len(b))
		}
		if err := fn(ne.Uint16(b[2:])&0x3fff, b[4:n]); err != nil {
			return err
		}
		n = min((n+3)&^3, len(b))
		b = b[n:]
	}
	return nil
}

func getU8(v []byte) (uint8, error) {
	if len(v) < 1 {
		return 0, errMalformed
	}
	return v[0], nil
}

func getU16(v []byte) (uint16, error) {
	if len(v) < 2 {
		return 0, errMalformed
	}
	return ne.Uint16(v), nil
}

func getBE16(v []byte) (uint16, error) {
	if len(v) < 2 {
		return 0, errMalformed
	}
	return binary.BigEndian.Uint16(v), nil
}

func getU32(v []byte) (uint32, error) {
	if len(v) < 4 {
		return 0, errMalformed
	}
	return ne.Uint32(v), nil
}

func getU64(v []byte) (uint64, error) {
	if len(v) < 8 {
		return 0, errMalformed
	}
	return ne.Uint64(v), nil
}

func getStr(v []byte) string {
	for i, c := range v {
		if c == 0 {
			return string(v[:i])
		}
	}
	return string(v)
}

func addrBytes(a netip.Addr) []byte {
	if a.Is4() {
		b := a.As4()
		return b[:]
	}
	b := a.As16()
	return b[:]
}

func parseAddr(v []byte, f Family) (netip.Addr, error) {
	switch {
	case f == IPv4 && len(v) >= 4:
		return netip.AddrFrom4([4]byte(v[:4])), nil
	case f == IPv6 && len(v) >= 16:
		return netip.AddrFrom16([16]byte(v[:16])), nil
	}
	return netip.Addr{}, fmt.Errorf("%w: address of %d bytes for %v", errMalformed, len(v), f)
}

func familyOf(a netip.Addr) Family {
	if a.Is4() {
		return IPv4
	}
	return IPv6
}

// encodeServiceKey returns the service attributes that identify k.
func encodeServiceKey(k ServiceKey) attrs {
	var a attrs
	a = a.u16(svcAF, uint16(k.Family))
	if k.IsFWMark() {
		return a.u32(svcFWMark, k.FWMark)
	}
	a = a.u16(svcProtocol, uint16(k.Protocol))
	a = a.put(svcAddr, addrBytes(k.Addr))
	return a.be16(svcPort, k.Port)
}

// encodeService returns the nested service attribute; full adds the
// settings (for new and set).
func encodeService(s Service, full bool) attrs {
	a := encodeServiceKey(s.Key)
	if full {
		at := s.attrs()
		a = a.str(svcSchedName, string(at.sched))
		if at.engine != "" {
			a = a.str(svcPEName, at.engine)
		}
		flags := uint32(at.flags)
		if at.timeout > 0 {
			flags |= uint32(flagPersistent)
		}
		a = a.put(svcFlags, ne.AppendUint32(ne.AppendUint32(nil, flags), ^uint32(0)))
		a = a.u32(svcTimeout, uint32(at.timeout/time.Second))
		a = a.put(svcNetmask, encodeNetmask(s.Key.Family, at.netmask))
	}
	return attrs(nil).put(attrService, a)
}

// encodeNetmask: IPv4 carries a mask in network order, IPv6 a prefix length.
func encodeNetmask(f Family, bitsN int) []byte {
	if f == IPv6 {
		return ne.AppendUint32(nil, uint32(bitsN))
	}
	var m uint32
	if bitsN > 0 {
		m = ^uint32(0) << (32 - bitsN)
	}
	return binary.BigEndian.AppendUint32(nil, m)
}

func decodeNetmask(f Family, v []byte) (int, error) {
	if len(v) < 4 {
		return 0, errMalformed
	}
	if f == IPv6 {
		return int(ne.Uint32(v)), nil
	}
	return bits.LeadingZeros32(^binary.BigEndian.Uint32(v)), nil
}

// persistenceNetmask decodes a kernel netmask as [Persistence.Netmask]:
// the full length, the kernel's default, is 0.
func persistenceNetmask(f Family, v []byte) (int, error) {
	n, err := decodeNetmask(f, v)
	if n == 32 && f == IPv4 || n == 128 && f == IPv6 {
		n = 0
	}
	return n, err
}

func encodeDest(d Destination) attrs {
	var a attrs
	a = a.put(dstAddr, addrBytes(d.Addr.Addr()))
	a = a.be16(dstPort, d.Addr.Port())
	a = a.u16(dstAddrFamily, uint16(familyOf(d.Addr.Addr())))
	a = a.u32(dstFwdMethod, uint32(d.Forward))
	a = a.u32(dstWeight, uint32(int32(d.Weight)))
	a = a.u32(dstUThresh, d.UpperThreshold)
	a = a.u32(dstLThresh, d.LowerThreshold)
	if d.Forward == Tunnel {
		a = a.u8(dstTunType, uint8(d.TunnelType))
		a = a.be16(dstTunPort, d.TunnelPort)
		a = a.u16(dstTunFlags, uint16(d.TunnelFlags))
	}
	return attrs(nil).put(attrDest, a)
}

func encodeDestKey(a netip.AddrPort) attrs {
	var b attrs
	b = b.put(dstAddr, addrBytes(a.Addr()))
	b = b.be16(dstPort, a.Port())
	b = b.u16(dstAddrFamily, uint16(familyOf(a.Addr())))
	return attrs(nil).put(attrDest, b)
}

// nested returns the value of the first top-level attribute typ in a
// generic netlink payload (after the 4-byte genl header).
func nested(payload []byte, typ uint16) ([]byte, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("%w: short generic netlink message", errMalformed)
	}
	var val []byte
	found := false
	err := forAttrs(payload[4:], func(t uint16, v []byte) error {
		if t == typ && !found {
			val, found = v, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: attribute %d missing", errMalformed, typ)
	}
	return val, nil
}

// decodeStats parses the 64-bit statistics if the kernel sent them, else
// the 32-bit ones of older kernels (whose byte counters are 64-bit too).
func decodeStats(s32, s64 []byte) (Stats, error) {
	v, wide := s64, true
	if v == nil {
		v, wide = s32, false
	}
	var s Stats
	// By attribute type (IPVS_STATS_ATTR_CONNS = 1 ...).
	fields := [...]*uint64{&s.Conns, &s.PktsIn, &s.PktsOut, &s.BytesIn, &s.BytesOut,
		&s.CPS, &s.PPSIn, &s.PPSOut, &s.BPSIn, &s.BPSOut}
	err := forAttrs(v, func(typ uint16, val []byte) error {
		if typ < 1 || int(typ) > len(fields) {
			return nil // IPVS_STATS_ATTR_PAD (empty, where 64-bit values need aligning) or newer
		}
		f := fields[typ-1]
		if wide || f == &s.BytesIn || f == &s.BytesOut {
			x, err := getU64(val)
			*f = x
			return err
		}
		x, err := getU32(val)
		*f = uint64(x)
		return err
	})
	if err != nil {
		return Stats{}, err
	}
	return s, nil
}

// decodeService parses one GET_SERVICE reply payload.
func decodeService(payload []byte) (Service, error) {
	body, err := nested(payload, attrService)
	if err != nil {
		return Service{}, err
	}
	var s Service
	var addr, mask []byte
	var flags uint32
	var stats32, stats64 []byte
	err = forAttrs(body, func(typ uint16, val []byte) error {
		var e error
		switch typ {
		case svcAF:
			var f uint16
			f, e = getU16(val)
			s.Key.Family = Family(f)
		case svcProtocol:
			var p uint16
			p, e = getU16(val)
			s.Key.Protocol = Protocol(p)
		case svcAddr:
			addr = val
		case svcPort:
			s.Key.Port, e = getBE16(val)
		case svcFWMark:
			s.Key.FWMark, e = getU32(val)
		case svcSchedName:
			s.Scheduler = Scheduler(getStr(val))
		case svcFlags:
			flags, e = getU32(val)
		case svcTimeout:
			var t uint32
			t, e = getU32(val)
			s.Persistence.Timeout = time.Duration(t) * time.Second
		case svcNetmask:
			mask = val
		case svcPEName:
			s.Persistence.Engine = getStr(val)
		case svcStats:
			stats32 = val
		case svcStats64:
			stats64 = val
		}
		if e != nil {
			return fmt.Errorf("service attribute %d: %w", typ, e)
		}
		return nil
	})
	if err != nil {
		return Service{}, err
	}
	if s.Key.Family != IPv4 && s.Key.Family != IPv6 {
		return Service{}, fmt.Errorf("%w: service family %d", errMalformed, s.Key.Family)
	}
	if s.Key.IsFWMark() {
		s.Key.Protocol, s.Key.Port = 0, 0
	} else if s.Key.Addr, err = parseAddr(addr, s.Key.Family); err != nil {
		return Service{}, err
	}
	s.Flags = SchedFlags(flags) & userFlags
	if SchedFlags(flags)&flagPersistent == 0 {
		s.Persistence = Persistence{}
	} else if mask != nil {
		if s.Persistence.Netmask, err = persistenceNetmask(s.Key.Family, mask); err != nil {
			return Service{}, err
		}
	}
	s.Stats, err = decodeStats(stats32, stats64)
	return s, err
}

// decodeDest parses one GET_DEST reply payload; svcFamily is used by old
// kernels that send no address family.
func decodeDest(payload []byte, svcFamily Family) (Destination, error) {
	body, err := nested(payload, attrDest)
	if err != nil {
		return Destination{}, err
	}
	var d Destination
	var addr []byte
	var port uint16
	fam := svcFamily
	var stats32, stats64 []byte
	err = forAttrs(body, func(typ uint16, val []byte) error {
		var e error
		var v uint32
		switch typ {
		case dstAddr:
			addr = val
		case dstPort:
			port, e = getBE16(val)
		case dstAddrFamily:
			var f uint16
			f, e = getU16(val)
			fam = Family(f)
		case dstFwdMethod:
			v, e = getU32(val)
			d.Forward = Forward(v & 7)
		case dstWeight:
			v, e = getU32(val)
			d.Weight = int(int32(v))
		case dstUThresh:
			d.UpperThreshold, e = getU32(val)
		case dstLThresh:
			d.LowerThreshold, e = getU32(val)
		case dstActiveConns:
			d.Counters.ActiveConns, e = getU32(val)
		case dstInactConns:
			d.Counters.InactiveConns, e = getU32(val)
		case dstPersistConns:
			d.Counters.PersistConns, e = getU32(val)
		case dstStats:
			stats32 = val
		case dstStats64:
			stats64 = val
		case dstTunType:
			var t uint8
			t, e = getU8(val)
			d.TunnelType = TunnelType(t)
		case dstTunPort:
			d.TunnelPort, e = getBE16(val)
		case dstTunFlags:
			var f uint16
			f, e = getU16(val)
			d.TunnelFlags = TunnelFlags(f)
		}
		if e != nil {
			return fmt.Errorf("real server attribute %d: %w", typ, e)
		}
		return nil
	})
	if err != nil {
		return Destination{}, err
	}
	ip, err := parseAddr(addr, fam)
	if err != nil {
		return Destination{}, err
	}
	d.Addr = netip.AddrPortFrom(ip, port)
	if d.Forward != Tunnel {
		d.TunnelType, d.TunnelPort, d.TunnelFlags = 0, 0, 0
	}
	d.Counters.Stats, err = decodeStats(stats32, stats64)
	return d, err
}

func encodeDaemon(d SyncDaemon) attrs {
	var a attrs
	a = a.u32(daemonState, uint32(d.Role))
	a = a.str(daemonMcastIfn, d.Interface)
	a = a.u32(daemonSyncID, uint32(d.SyncID))
	if d.MaxLen != 0 {
		a = a.u16(daemonSyncMaxLen, d.MaxLen)
	}
	if d.Group.Is4() {
		b := d.Group.As4()
		a = a.put(daemonGroup, b[:])
	} else if d.Group.Is6() {
		b := d.Group.As16()
		a = a.put(daemonGroup6, b[:])
	}
	if d.Port != 0 {
		a = a.u16(daemonPort, d.Port)
	}
	if d.TTL != 0 {
		a = a.u8(daemonTTL, d.TTL)
	}
	return attrs(nil).put(attrDaemon, a)
}

func decodeDaemon(payload []byte) (SyncDaemon, error) {
	body, err := nested(payload, attrDaemon)
	if err != nil {
		return SyncDaemon{}, err
	}
	var d SyncDaemon
	err = forAttrs(body, func(typ uint16, val []byte) error {
		var e error
		switch typ {
		case daemonState:
			var v uint32
			v, e = getU32(val)
			d.Role = Role(v)
		case daemonMcastIfn:
			d.Interface = getStr(val)
		case daemonSyncID:
			var v uint32
			v, e = getU32(val)
			d.SyncID = uint8(v)
		case daemonSyncMaxLen:
			d.MaxLen, e = getU16(val)
		case daemonGroup:
			if len(val) >= 4 {
				d.Group = netip.AddrFrom4([4]byte(val[:4]))
			}
		case daemonGroup6:
			if len(val) >= 16 {
				d.Group = netip.AddrFrom16([16]byte(val[:16]))
			}
		case daemonPort:
			d.Port, e = getU16(val)
		case daemonTTL:
			d.TTL, e = getU8(val)
		}
		if e != nil {
			return fmt.Errorf("daemon attribute %d: %w", typ, e)
		}
		return nil
	})
	if err != nil {
		return SyncDaemon{}, err
	}
	return d, nil
}

func encodeTimeouts(t Timeouts) attrs {
	var a attrs
	a = a.u32(attrTimeoutTCP, uint32(t.TCP/time.Second))
	a = a.u32(attrTimeoutFin, uint32(t.TCPFin/time.Second))
	return a.u32(attrTimeoutUDP, uint32(t.UDP/time.Second))
}

func decodeTimeouts(payload []byte) (Timeouts, error) {
	if len(payload) < 4 {
		return Timeouts{}, errMalformed
	}
	var t Timeouts
	err := forAttrs(payload[4:], func(typ uint16, val []byte) error {
		var f *time.Duration
		switch typ {
		case attrTimeoutTCP:
			f = &t.TCP
		case attrTimeoutFin:
			f = &t.TCPFin
		case attrTimeoutUDP:
			f = &t.UDP
		default:
			return nil
		}
		v, err := getU32(val)
		*f = time.Duration(v) * time.Second
		return err
	})
	if err != nil {
		return Timeouts{}, err
	}
	return t, nil
}

// request is one generic netlink request: command and attributes.
type request struct {
	cmd  uint8
	dump bool
	body attrs
}

// Netlink message flags (linux/netlink.h).
const (
	nlmFRequest = 0x1
	nlmFAck     = 0x4
	nlmFDump    = 0x300
)

// flags returns the netlink header flags of r: a dump, or a request that
// the kernel acknowledges.
func (r request) flags() uint16 {
	if r.dump {
		return nlmFRequest | nlmFDump
	}
	return nlmFRequest | nlmFAck
}

// opRequest translates op to its request.
func opRequest(op Op) (request, error) {
	switch op.Kind {
	case AddService:
		return request{cmd: cmdNewService, body: encodeService(op.Service, true)}, nil
	case UpdateService:
		return request{cmd: cmdSetService, body: encodeService(op.Service, true)}, nil
	case DeleteService:
		return request{cmd: cmdDelService, body: encodeService(op.Service, false)}, nil
	case AddDestination:
		return request{cmd: cmdNewDest, body: append(encodeService(op.Service, false), encodeDest(op.Destination)...)}, nil
	case UpdateDestination:
		return request{cmd: cmdSetDest, body: append(encodeService(op.Service, false), encodeDest(op.Destination)...)}, nil
	case DeleteDestination:
		return request{cmd: cmdDelDest, body: append(encodeService(op.Service, false), encodeDestKey(op.Destination.Addr)...)}, nil
	case SetTimeouts:
		return request{cmd: cmdSetConfig, body: encodeTimeouts(op.Timeouts)}, nil
	}
	return request{}, fmt.Errorf("operation %v unknown: %w", op.Kind, ErrInvalid)
}
