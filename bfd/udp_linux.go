//go:build linux

package bfd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// UDPTransport is the Linux [Transport]: one socket per address family and
// port (3784 single-hop, 4784 multi-hop) receives with the TTL/hop limit,
// destination address and interface of every packet, and one socket per
// address family sends from a fixed source port with TTL/hop limit 255
// (RFC 5881 §5, RFC 5883 §5). One UDPTransport serves every session of a
// [Mux].
type UDPTransport struct {
	rx        []*rxSock
	tx4       *net.UDPConn
	tx6       *net.UDPConn
	port      uint16
	in        chan udpDatagram
	closed    chan struct{}
	once      sync.Once
	startOnce sync.Once
	wg        sync.WaitGroup
	wmu       sync.Mutex
	oob       []byte
	readErr   chan error
}

type rxSock struct {
	c        *net.UDPConn
	v6       bool
	multiHop bool
}

type udpDatagram struct {
	buf  [MaxPacketLen + 64]byte
	n    int
	meta Meta
}

var _ Transport = (*UDPTransport)(nil)

// ListenUDP opens the sockets described by cfg. Sockets are bound in the
// network namespace of the calling thread.
func ListenUDP(cfg UDPConfig) (*UDPTransport, error) {
	if cfg.TOS == 0 {
		cfg.TOS = 0xc0
	}
	t := &UDPTransport{
		in:      make(chan udpDatagram, 64),
		closed:  make(chan struct{}),
		oob:     make([]byte, 0, unix.CmsgSpace(unix.SizeofInet6Pktinfo)),
		readErr: make(chan error, 1),
	}
	fams := []bool{}
	if !cfg.DisableIPv4 {
		fams = append(fams, false)
	}
	if !cfg.DisableIPv6 {
		fams = append(fams, true)
	}
	if len(fams) == 0 {
		return nil, errors.New("bfd: udp: both address families disabled")
	}
	var famErrs []error
	for _, v6 := range fams {
		if err := t.openFamily(cfg, v6); err != nil {
			if len(fams) == 1 || !errors.Is(err, syscall.EAFNOSUPPORT) {
				t.closeSockets()
				return nil, err
			}
			famErrs = append(famErrs, err)
		}
	}
	if len(famErrs) == len(fams) {
		t.closeSockets()
		return nil, errors.Join(famErrs...)
	}
	return t, nil
}

// start starts one reader goroutine per socket, delivering to deliver. It
// runs once: on the first ReadFrom, or when a Mux takes over delivery.
func (t *UDPTransport) start(deliver func(b []byte, m Meta, err error) bool) {
	t.startOnce.Do(func() {
		for _, s := range t.rx {
			t.wg.Go(func() { t.readLoop(s, deliver) })
		}
	})
}

// push implements pusher: the Mux receives datagrams straight from the
// socket goroutines, one hand-off fewer than through ReadFrom.
func (t *UDPTransport) push(deliver func(b []byte, m Meta, err error) bool) { t.start(deliver) }

// toChannel is the delivery used by ReadFrom.
func (t *UDPTransport) toChannel(b []byte, m Meta, err error) bool {
	if err != nil {
		select {
		case t.readErr <- err:
		default:
		}
		return true
	}
	var d udpDatagram
	d.n = copy(d.buf[:], b)
	d.meta = m
	select {
	case t.in <- d:
		return true
	case <-t.closed:
		return false
	}
}

func (t *UDPTransport) openFamily(cfg UDPConfig, v6 bool) error {
	network, wildcard := "udp4", "0.0.0.0"
	if v6 {
		network, wildcard = "udp6", "::"
	}
	type listener struct {
		port     int
		multiHop bool
	}
	var ports []listener
	if !cfg.DisableSingleHop {
		ports = append(ports, listener{PortSingleHop, false})
	}
	if !cfg.DisableMultiHop {
		ports = append(ports, listener{PortMultiHop, true})
	}
	for _, p := range ports {
		c, err := listen(network, net.JoinHostPort(wildcard, strconv.Itoa(p.port)), cfg, v6, true)
		if err != nil {
			return err
		}
		t.rx = append(t.rx, &rxSock{c: c, v6: v6, multiHop: p.multiHop})
	}
	// The send socket: a fixed source port in 49152–65535.
	var tx *net.UDPConn
	var err error
	want := cfg.SourcePort
	if want == 0 {
		want = t.port // the other family's port, so both share one
	}
	if want != 0 {
		tx, err = listen(network, net.JoinHostPort(wildcard, strconv.Itoa(int(want))), cfg, v6, false)
	}
	for i := 0; tx == nil && cfg.SourcePort == 0 && i < 64; i++ {
		port := SourcePortMin + rand.IntN(SourcePortMax-SourcePortMin+1)
		tx, err = listen(network, net.JoinHostPort(wildcard, strconv.Itoa(port)), cfg, v6, false)
	}
	if tx == nil {
		return fmt.Errorf("bfd: udp: bind source port: %w", err)
	}
	t.port = uint16(tx.LocalAddr().(*net.UDPAddr).Port)
	if v6 {
		t.tx6 = tx
	} else {
		t.tx4 = tx
	}
	return nil
}

func listen(network, addr string, cfg UDPConfig, v6, rx bool) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			set := func(level, opt, v int) {
				if serr == nil {
					if err := unix.SetsockoptInt(int(fd), level, opt, v); err != nil {
						serr = fmt.Errorf("setsockopt %d/%d: %w", level, opt, err)
					}
				}
			}
			if cfg.Interface != "" {
				if err := unix.BindToDevice(int(fd), cfg.Interface); err != nil {
					serr = fmt.Errorf("bind to device %q: %w", cfg.Interface, err)
				}
			}
			if v6 {
				set(unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
				set(unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 255)
				set(unix.IPPROTO_IPV6, unix.IPV6_TCLASS, int(cfg.TOS))
				if rx {
					set(unix.IPPROTO_IPV6, unix.IPV6_RECVHOPLIMIT, 1)
					set(unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
				}
			} else {
				set(unix.IPPROTO_IP, unix.IP_TTL, 255)
				set(unix.IPPROTO_IP, unix.IP_TOS, int(cfg.TOS))
				if rx {
					set(unix.IPPROTO_IP, unix.IP_RECVTTL, 1)
					set(unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), network, addr)
	if err != nil {
		return nil, fmt.Errorf("bfd: udp: listen %s %s: %w", network, addr, err)
	}
	return pc.(*net.UDPConn), nil
}

// SourcePort returns the UDP source port of sent packets.
func (t *UDPTransport) SourcePort() uint16 { return t.port }

func (t *UDPTransport) readLoop(s *rxSock, deliver func(b []byte, m Meta, err error) bool) {
	oob := make([]byte, 128)
	var buf [MaxPacketLen + 64]byte
	for {
		n, oobn, _, from, err := s.c.ReadMsgUDPAddrPort(buf[:], oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if !deliver(nil, Meta{}, err) {
				return
			}
			time.Sleep(readErrorBackoff) // never spin on a persistent error
			continue
		}
		meta := Meta{Peer: from.Addr().Unmap().WithZone(""), MultiHop: s.multiHop}
		parseCmsgs(oob[:oobn], &meta)
		if !deliver(buf[:n], meta, nil) {
			return
		}
	}
}

// parseCmsgs extracts TTL/hop limit, destination and interface.
func parseCmsgs(oob []byte, m *Meta) {
	hdr := unix.SizeofCmsghdr
	for len(oob) >= hdr {
		var l int
		if hdr == 16 {
			l = int(binary.NativeEndian.Uint64(oob))
		} else {
			l = int(binary.NativeEndian.Uint32(oob))
		}
		level := int32(binary.NativeEndian.Uint32(oob[hdr-8:]))
		typ := int32(binary.NativeEndian.Uint32(oob[hdr-4:]))
		if l < hdr || l > len(oob) {
			return
		}
		data := oob[unix.CmsgLen(0):l]
		switch {
		case level == unix.IPPROTO_IP && typ == unix.IP_TTL && len(data) >= 4:
			m.TTL = uint8(binary.NativeEndian.Uint32(data))
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_HOPLIMIT && len(data) >= 4:
			m.TTL = uint8(binary.NativeEndian.Uint32(data))
		case level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && len(data) >= unix.SizeofInet4Pktinfo:
			m.IfIndex = int(int32(binary.NativeEndian.Uint32(data)))
			m.Local = netip.AddrFrom4([4]byte(data[8:12]))
		case level == unix.IPPROTO_IPV6 && typ == unix.IPV6_PKTINFO && len(data) >= unix.SizeofInet6Pktinfo:
			m.Local = netip.AddrFrom16([16]byte(data[:16]))
			m.IfIndex = int(binary.NativeEndian.Uint32(data[16:]))
		}
		step := unix.CmsgSpace(l - unix.CmsgLen(0))
		if step > len(oob) {
			return
		}
		oob = oob[step:]
	}
}

// ReadFrom implements [Transport].
func (t *UDPTransport) ReadFrom(b []byte) (int, Meta, error) {
	t.start(t.toChannel)
	select {
	case d := <-t.in:
		return copy(b, d.buf[:d.n]), d.meta, nil
	case err := <-t.readErr:
		return 0, Meta{}, fmt.Errorf("bfd: udp: read: %w", err)
	case <-t.closed:
		return 0, Meta{}, fmt.Errorf("bfd: udp: read: %w", net.ErrClosed)
	}
}

// WriteTo implements [Transport]: it sends b to m.Peer on port 3784 (4784
// when m.MultiHop) from m.Local out of m.IfIndex, when set.
func (t *UDPTransport) WriteTo(b []byte, m Meta) error {
	peer := m.Peer.Unmap()
	port := uint16(PortSingleHop)
	if m.MultiHop {
		port = PortMultiHop
	}
	c := t.tx4
	if peer.Is6() {
		c = t.tx6
	}
	if c == nil {
		return fmt.Errorf("bfd: udp: no socket for %v", peer)
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	oob := t.oob[:0]
	if m.Local.IsValid() || m.IfIndex != 0 {
		oob = appendPktinfo(oob, peer.Is6(), m.Local.Unmap(), m.IfIndex)
	}
	if m.IfIndex != 0 {
		peer = peer.WithZone("")
	}
	_, _, err := c.WriteMsgUDPAddrPort(b, oob, netip.AddrPortFrom(peer, port))
	if err != nil {
		return fmt.Errorf("bfd: udp: send to %v: %w", peer, err)
	}
	return nil
}

func appendPktinfo(b []byte, v6 bool, src netip.Addr, ifIndex int) []byte {
	dlen, level, typ := unix.SizeofInet4Pktinfo, unix.IPPROTO_IP, unix.IP_PKTINFO
	if v6 {
		dlen, level, typ = unix.SizeofInet6Pktinfo, unix.IPPROTO_IPV6, unix.IPV6_PKTINFO
	}
	start := len(b)
	b = append(b, make([]byte, unix.CmsgSpace(dlen))...)
	h := b[start:]
	if unix.SizeofCmsghdr == 16 {
		binary.NativeEndian.PutUint64(h, uint64(unix.CmsgLen(dlen)))
	} else {
		binary.NativeEndian.PutUint32(h, uint32(unix.CmsgLen(dlen)))
	}
	binary.NativeEndian.PutUint32(h[unix.SizeofCmsghdr-8:], uint32(level))
	binary.NativeEndian.PutUint32(h[unix.SizeofCmsghdr-4:], uint32(typ))
	d := h[unix.CmsgLen(0):]
	if v6 {
		if src.Is6() {
			a := src.As16()
			copy(d[:16], a[:])
		}
		binary.NativeEndian.PutUint32(d[16:], uint32(ifIndex))
	} else {
		binary.NativeEndian.PutUint32(d, uint32(ifIndex))
		if src.Is4() {
			a := src.As4()
			copy(d[4:8], a[:]) // ipi_spec_dst: the source address to use
		}
	}
	return b
}

// Close closes every socket and unblocks ReadFrom. It is idempotent.
func (t *UDPTransport) Close() error {
	t.once.Do(func() {
		close(t.closed)
		t.closeSockets()
		t.wg.Wait()
	})
	return nil
}

func (t *UDPTransport) closeSockets() {
	for _, s := range t.rx {
		_ = s.c.Close()
	}
	if t.tx4 != nil {
		_ = t.tx4.Close()
	}
	if t.tx6 != nil {
		_ = t.tx6.Close()
	}
}
