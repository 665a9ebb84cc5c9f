package vrrp

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Conn is a Linux raw IP socket (protocol 112) for VRRP on one interface and
// one address family, shared by every [Instance] on that interface and
// family: [Conn.Transport] hands each VRID its own [Transport], and one
// reader goroutine demultiplexes received advertisements by VRID (byte 1 of
// the payload).
//
// The socket is bound to the interface (SO_BINDTODEVICE), joins the VRRP
// multicast group on it (224.0.0.18 or ff02::12, or
// [ConnConfig.MulticastGroups]), sends with TTL / hop limit 255 (unicast:
// [ConnConfig.UnicastTTL]), TOS / traffic class 0xc0 (as keepalived), DF
// clear (IPv4) and
// multicast loopback off, from the configured source address, and reports
// the received TTL / hop limit, destination and interface index.
//
// [Conn.TransportAH] adds VRRPv2 AH authentication (IP protocol 51).
type Conn struct {
	cfg    ConnConfig
	log    *slog.Logger
	ifi    *net.Interface
	src    netip.Addr
	p4     *ipv4.PacketConn
	p6     *ipv6.PacketConn
	rc     syscall.RawConn // of the socket, for drainSocket
	closed chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	tos    int
	ttl    int          // unicast TTL / hop limit
	groups []netip.Addr // joined; guarded by mu after open

	drainMu  sync.Mutex // guards the buffers of drainSocket
	drainBuf []byte
	drainOOB []byte

	mu    sync.Mutex
	vrid  map[uint8]*vridTransport
	ah    *ahSocket // opened by the first TransportAH
	ahSeq atomic.Uint32

	st struct {
		rx, tx, rxErrors, txErrors, unknownVRID, queueFull, short, authFailures atomic.Uint64
	}
}

// Listen opens the raw VRRP socket described by cfg.
func Listen(cfg ConnConfig) (*Conn, error) {
	c, err := openConn(cfg)
	if err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go c.readLoop()
	return c, nil
}

// openConn opens the Conn of Listen without starting its reader.
func openConn(cfg ConnConfig) (*Conn, error) {
	if cfg.Interface == "" {
		return nil, errors.New("vrrp: listen: interface required")
	}
	if cfg.QueueLen <= 0 {
		cfg.QueueLen = 64
	}
	ttl := cfg.UnicastTTL
	switch {
	case ttl == 0:
		ttl = 255
	case ttl < 1 || ttl > 255:
		return nil, fmt.Errorf("vrrp: listen on %s: UnicastTTL %d not in 1-255", cfg.Interface, cfg.UnicastTTL)
	}
	var groups []netip.Addr
	for _, g := range cfg.MulticastGroups {
		g = g.WithZone("").Unmap()
		if !g.IsMulticast() || g.Is6() != cfg.IPv6 {
			return nil, fmt.Errorf("vrrp: listen on %s: multicast group %v not a multicast address of the family", cfg.Interface, g)
		}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	if len(groups) == 0 {
		groups = []netip.Addr{MulticastGroup4}
		if cfg.IPv6 {
			groups[0] = MulticastGroup6
		}
	}
	tos := cfg.TOS
	switch {
	case tos == 0:
		tos = 0xc0
	case tos < 0:
		tos = 0
	}
	c := &Conn{
		tos:    tos,
		ttl:    ttl,
		groups: groups,
		cfg:    cfg,
		closed: make(chan struct{}),
		vrid:   map[uint8]*vridTransport{},
		log:    cfg.Logger,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("iface", cfg.Interface)
	err := inNetNS(cfg.NetNS, func() error { return c.open(tos) })
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen on %s: %w", cfg.Interface, err)
	}
	return c, nil
}

// inNetNS runs fn on a dedicated locked OS thread inside the namespace at
// path (or directly if path is empty).
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", path, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			errc <- err // stay locked: the runtime discards the thread
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err) // stay locked
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

func (c *Conn) open(tos int) error {
	ifi, err := net.InterfaceByName(c.cfg.Interface)
	if err != nil {
		return err
	}
	c.ifi = ifi
	c.src = c.cfg.Source
	if !c.src.IsValid() {
		c.src, err = defaultSource(ifi, c.cfg.IPv6)
		if err != nil {
			return err
		}
	}
	c.src = c.src.Unmap()
	var pc net.PacketConn
	if c.cfg.IPv6 {
		pc, err = net.ListenPacket("ip6:112", "::")
	} else {
		pc, err = net.ListenPacket("ip4:112", "0.0.0.0")
	}
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			pc.Close()
		}
	}()
	sc, err := pc.(*net.IPConn).SyscallConn()
	if err != nil {
		return err
	}
	c.rc = sc
	var serr error
	err = sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifi.Name)
		if serr == nil && !c.cfg.IPv6 {
			// keepalived sends with DF clear.
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
		}
	})
	if err = errors.Join(err, serr); err != nil {
		return err
	}
	if c.cfg.IPv6 {
		p := ipv6.NewPacketConn(pc)
		err = errors.Join(
			p.SetHopLimit(c.ttl),
			p.SetMulticastHopLimit(255),
			p.SetTrafficClass(tos),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(ifi),
			p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true),
		)
		for _, g := range c.groups {
			err = errors.Join(err, p.JoinGroup(ifi, &net.IPAddr{IP: net.IP(g.AsSlice())}))
		}
		c.p6 = p
	} else {
		p := ipv4.NewPacketConn(pc)
		err = errors.Join(
			p.SetTTL(c.ttl),
			p.SetMulticastTTL(255),
			p.SetTOS(tos),
			p.SetMulticastLoopback(false),
			p.SetMulticastInterface(ifi),
			p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true),
		)
		for _, g := range c.groups {
			err = errors.Join(err, p.JoinGroup(ifi, &net.IPAddr{IP: net.IP(g.AsSlice())}))
		}
		c.p4 = p
	}
	if err != nil {
		return err
	}
	ok = true
	return nil
}

func defaultSource(ifi *net.Interface, v6 bool) (netip.Addr, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if v6 && ip.Is6() && ip.IsLinkLocalUnicast() {
			return ip, nil
		}
		if !v6 && ip.Is4() {
			return ip, nil
		}
	}
	if v6 {
		return netip.Addr{}, fmt.Errorf("no IPv6 link-local address on %s", ifi.Name)
	}
	return netip.Addr{}, fmt.Errorf("no IPv4 address on %s", ifi.Name)
}

// Source returns the source address of sent packets.
func (c *Conn) Source() netip.Addr { return c.src }

// MulticastGroups returns the multicast groups joined.
func (c *Conn) MulticastGroups() []netip.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.groups)
}

// Joined reports whether the multicast group g has been joined.
func (c *Conn) Joined(g netip.Addr) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.groups, g.WithZone("").Unmap())
}

// JoinGroup joins the multicast group g (of the Conn's family) on the
// interface, for instances whose Config.MulticastGroup is g. Joining a
// group already joined does nothing.
func (c *Conn) JoinGroup(g netip.Addr) error {
	g = g.WithZone("").Unmap()
	if !g.IsMulticast() || g.Is6() != c.cfg.IPv6 {
		return fmt.Errorf("vrrp: join %v on %s: not a multicast address of the family", g, c.ifi.Name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.closed:
		return fmt.Errorf("vrrp: join %v on %s: %w", g, c.ifi.Name, net.ErrClosed)
	default:
	}
	if slices.Contains(c.groups, g) {
		return nil
	}
	ga := &net.IPAddr{IP: net.IP(g.AsSlice())}
	var err error
	if c.p6 != nil {
		err = c.p6.JoinGroup(c.ifi, ga)
	} else {
		err = c.p4.JoinGroup(c.ifi, ga)
		if err == nil && c.ah != nil {
			err = c.ah.raw.JoinGroup(c.ifi, ga)
		}
	}
	if err != nil {
		return fmt.Errorf("vrrp: join %v on %s: %w", g, c.ifi.Name, err)
	}
	c.groups = append(c.groups, g)
	return nil
}

// Interface returns the interface the Conn is bound to.
func (c *Conn) Interface() *net.Interface { return c.ifi }

// Stats returns a snapshot of the Conn's counters.
func (c *Conn) Stats() ConnStats {
	return ConnStats{
		Received:    c.st.rx.Load(),
		Sent:        c.st.tx.Load(),
		ReadErrors:  c.st.rxErrors.Load(),
		WriteErrors: c.st.txErrors.Load(),
		UnknownVRID: c.st.unknownVRID.Load(),
		QueueFull:   c.st.queueFull.Load(),
		Short:       c.st.short.Load(),

		AuthFailures: c.st.authFailures.Load(),
	}
}

type rxPacket struct {
	b []byte
	m Meta
}

func (c *Conn) readLoop() {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	backoff := time.Millisecond
	for {
		n, m, err := c.read(buf)
		if err != nil {
			if !c.readRetry(err, &backoff) {
				return
			}
			continue
		}
		backoff = time.Millisecond
		c.dispatch(buf[:n], m)
	}
}

// dispatch queues the VRRP message b for its VRID's Transport.
func (c *Conn) dispatch(b []byte, m Meta) {
	if len(b) < 2 {
		c.st.short.Add(1)
		return
	}
	switch t := c.transportFor(b[1]); {
	case t == nil:
		c.st.unknownVRID.Add(1)
	case t.key != nil:
		// A VRID using AH accepts only AH-authenticated messages
		// (readAH): a bare one would bypass the ICV check.
		c.st.authFailures.Add(1)
	default:
		c.enqueue(t, b, m)
	}
}

// drainSocket moves the packets waiting in the socket's receive buffer to
// their VRIDs' queues without blocking, for [PendingReader]: after a pause
// of the process the reader goroutine may not have run yet. It reads the
// socket directly (non-blocking recvmsg) beside readLoop; each packet goes
// to one of them.
func (c *Conn) drainSocket() {
	c.drainMu.Lock()
	defer c.drainMu.Unlock()
	if c.drainBuf == nil {
		c.drainBuf = make([]byte, 65536)
		if c.p6 != nil {
			c.drainOOB = ipv6.NewControlMessage(ipv6.FlagHopLimit | ipv6.FlagDst | ipv6.FlagInterface)
		} else {
			c.drainOOB = ipv4.NewControlMessage(ipv4.FlagTTL | ipv4.FlagDst | ipv4.FlagInterface)
		}
	}
	for range maxDrain {
		select {
		case <-c.closed:
			return
		default:
		}
		var (
			n, oobn int
			from    unix.Sockaddr
			rerr    error
		)
		// Control, not Read: Read would wait for the read lock that
		// readLoop's blocked ReadFrom holds.
		err := c.rc.Control(func(fd uintptr) {
			n, oobn, _, from, rerr = unix.Recvmsg(int(fd), c.drainBuf, c.drainOOB, unix.MSG_DONTWAIT)
		})
		if err != nil || rerr != nil {
			return // empty (EAGAIN) or closed
		}
		b, m, ok := c.parseRaw(c.drainBuf[:n], c.drainOOB[:oobn], from)
		if !ok {
			c.st.short.Add(1)
			continue
		}
		c.dispatch(b, m)
	}
}

// parseRaw returns the VRRP message and its Meta from a datagram read from
// the raw socket with recvmsg: for IPv4 it starts with the IP header.
func (c *Conn) parseRaw(b, oob []byte, from unix.Sockaddr) ([]byte, Meta, bool) {
	m := Meta{TTL: -1}
	if c.p6 != nil {
		if sa, ok := from.(*unix.SockaddrInet6); ok {
			m.Src = netip.AddrFrom16(sa.Addr)
		}
		var cm ipv6.ControlMessage
		if cm.Parse(oob) == nil {
			m.TTL = cm.HopLimit
			m.IfIndex = cm.IfIndex
			if d, ok := netip.AddrFromSlice(cm.Dst); ok {
				m.Dst = d
			}
		}
		return b, m, true
	}
	if len(b) < ipv4Len || b[0]>>4 != 4 {
		return nil, m, false
	}
	hl := int(b[0]&0x0f) * 4
	if hl < ipv4Len || len(b) < hl {
		return nil, m, false
	}
	m.Src = netip.AddrFrom4([4]byte(b[12:16]))
	m.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	m.TTL = int(b[8])
	var cm ipv4.ControlMessage
	if cm.Parse(oob) == nil {
		m.IfIndex = cm.IfIndex
	}
	return b[hl:], m, true
}

// readRetry handles a read error: unless the Conn is closed, it counts the
// error and waits backoff (doubled for next time, up to 100 ms). Read errors
// never end a reader before Close; readRetry reports false after it.
func (c *Conn) readRetry(err error, backoff *time.Duration) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	c.st.rxErrors.Add(1)
	c.log.Debug("read error", "err", err)
	t := time.NewTimer(*backoff)
	defer t.Stop()
	select {
	case <-c.closed:
		return false
	case <-t.C:
	}
	*backoff = min(2**backoff, 100*time.Millisecond)
	return true
}

// transportFor returns the Transport of vrid, or nil.
func (c *Conn) transportFor(vrid uint8) *vridTransport {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.vrid[vrid]
}

// enqueue queues a copy of the VRRP message b for t, or counts it dropped
// if t's queue is full.
func (c *Conn) enqueue(t *vridTransport, b []byte, m Meta) {
	select {
	case t.q <- rxPacket{b: bytes.Clone(b), m: m}:
		c.st.rx.Add(1)
	default:
		c.st.queueFull.Add(1)
	}
}

func addrOf(a net.Addr) netip.Addr {
	if ia, ok := a.(*net.IPAddr); ok {
		ip, _ := netip.AddrFromSlice(ia.IP)
		return ip.Unmap().WithZone("")
	}
	return netip.Addr{}
}

func (c *Conn) read(b []byte) (int, Meta, error) {
	m := Meta{TTL: -1}
	if c.p6 != nil {
		n, cm, src, err := c.p6.ReadFrom(b)
		if err != nil {
			return 0, m, err
		}
		m.Src = addrOf(src)
		if cm != nil {
			m.TTL = cm.HopLimit
			m.IfIndex = cm.IfIndex
			if d, ok := netip.AddrFromSlice(cm.Dst); ok {
				m.Dst = d
			}
		}
		return n, m, nil
	}
	n, cm, src, err := c.p4.ReadFrom(b)
	if err != nil {
		return 0, m, err
	}
	m.Src = addrOf(src)
	if cm != nil {
		m.TTL = cm.TTL
		m.IfIndex = cm.IfIndex
		if d, ok := netip.AddrFromSlice(cm.Dst); ok {
			m.Dst = d.Unmap()
		}
	}
	return n, m, nil
}

func (c *Conn) writeTo(b []byte, dst netip.Addr) error {
	select {
	case <-c.closed:
		return net.ErrClosed
	default:
	}
	var err error
	dstAddr := &net.IPAddr{IP: net.IP(dst.Unmap().AsSlice())}
	if c.p6 != nil {
		dstAddr.Zone = strconv.Itoa(c.ifi.Index) // a name would be resolved in the caller's namespace
		_, err = c.p6.WriteTo(b, &ipv6.ControlMessage{Src: net.IP(c.src.AsSlice()), IfIndex: c.ifi.Index}, dstAddr)
	} else {
		_, err = c.p4.WriteTo(b, &ipv4.ControlMessage{Src: net.IP(c.src.AsSlice()), IfIndex: c.ifi.Index}, dstAddr)
	}
	if err != nil {
		c.st.txErrors.Add(1)
		return fmt.Errorf("vrrp: send to %s on %s: %w", dst, c.ifi.Name, err)
	}
	c.st.tx.Add(1)
	return nil
}

// Transport returns the Transport for vrid on this Conn. Its ReadFrom
// delivers only advertisements whose VRID is vrid; closing it releases the
// VRID but keeps the Conn open. Only one Transport per VRID may be open.
// It is a [BoundTransport]: [New] rejects a Config whose VRID or Source
// differs from vrid and [Conn.Source].
func (c *Conn) Transport(vrid uint8) (Transport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkVRIDLocked(vrid); err != nil {
		return nil, err
	}
	return c.addTransportLocked(vrid, nil), nil
}

// checkVRIDLocked reports whether a Transport for vrid may be added: the
// Conn is open and vrid has none. c.mu is held.
func (c *Conn) checkVRIDLocked(vrid uint8) error {
	select {
	case <-c.closed:
		return fmt.Errorf("vrrp: transport for vrid %d: %w", vrid, ErrClosed)
	default:
	}
	if _, ok := c.vrid[vrid]; ok {
		return fmt.Errorf("vrrp: vrid %d already has a transport on %s", vrid, c.ifi.Name)
	}
	return nil
}

// addTransportLocked adds the Transport of vrid, with AH key key (nil:
// none). c.mu is held.
func (c *Conn) addTransportLocked(vrid uint8, key []byte) *vridTransport {
	t := &vridTransport{c: c, vrid: vrid, key: key, q: make(chan rxPacket, c.cfg.QueueLen), done: make(chan struct{})}
	c.vrid[vrid] = t
	return t
}

// Close closes the socket, ends the reader goroutine and unblocks every
// Transport's ReadFrom. It is idempotent.
func (c *Conn) Close() error {
	var err error
	c.once.Do(func() {
		close(c.closed)
		if c.p6 != nil {
			err = c.p6.Close()
		} else {
			err = c.p4.Close()
		}
		c.mu.Lock()
		if c.ah != nil {
			err = errors.Join(err, c.ah.pc.Close())
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return err
}

type vridTransport struct {
	c    *Conn
	vrid uint8
	key  []byte // AH key, or nil
	q    chan rxPacket
	once sync.Once
	done chan struct{}
}

var _ BoundTransport = (*vridTransport)(nil)

// VRID returns the VRID the transport is bound to.
func (t *vridTransport) VRID() uint8 { return t.vrid }

// Source returns the Conn's source address.
func (t *vridTransport) Source() netip.Addr { return t.c.src }

// Joined reports whether the Conn has joined the multicast group g.
func (t *vridTransport) Joined(g netip.Addr) bool { return t.c.Joined(g) }

var _ PendingReader = (*vridTransport)(nil)

// ReadPending implements [PendingReader]: it returns a queued packet of
// the VRID, after moving what is waiting in the socket to the queues. For
// AH (TransportAH) only the queue is read.
func (t *vridTransport) ReadPending(b []byte) (int, Meta, bool) {
	select {
	case <-t.done:
		return 0, Meta{}, false
	case <-t.c.closed:
		return 0, Meta{}, false
	default:
	}
	if t.key == nil {
		t.c.drainSocket()
	}
	select {
	case p := <-t.q:
		return copy(b, p.b), p.m, true
	default:
		return 0, Meta{}, false
	}
}

func (t *vridTransport) ReadFrom(b []byte) (int, Meta, error) {
	select {
	case p := <-t.q:
		return copy(b, p.b), p.m, nil
	case <-t.done:
		return 0, Meta{}, net.ErrClosed
	case <-t.c.closed:
		return 0, Meta{}, net.ErrClosed
	}
}

func (t *vridTransport) WriteTo(b []byte, dst netip.Addr) error {
	select {
	case <-t.done:
		return net.ErrClosed
	default:
	}
	if t.key != nil {
		return t.c.writeAH(t.key, b, dst)
	}
	return t.c.writeTo(b, dst)
}

func (t *vridTransport) Close() error {
	t.once.Do(func() {
		close(t.done)
		t.c.mu.Lock()
		if t.c.vrid[t.vrid] == t {
			delete(t.c.vrid, t.vrid)
		}
		t.c.mu.Unlock()
	})
	return nil
}
