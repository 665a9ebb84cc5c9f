package vrrp

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// VRRPv2 IP Authentication Header (RFC 2338 §5.3.6.3, RFC 2402), as
// keepalived's auth_type AH sends it on the wire:
//
//	IPv4 header (20 bytes, protocol 51, TTL 255, TOS 0xc0, ID = sequence)
//	AH: next header 112 | payload length 4 | reserved 0
//	    SPI (the sender's IPv4 address)
//	    sequence number
//	    ICV: HMAC-MD5-96, 12 bytes
//	VRRP message (auth type 2, zero authentication data)
//
// The ICV is HMAC-MD5 keyed with the password over the IPv4 header (with
// TOS, flags/fragment offset and checksum zeroed — keepalived, unlike RFC
// 2402 §3.3.3.1.1.1, keeps the TTL), the AH with its ICV zeroed, and the
// VRRP message. This was established by checking keepalived 2.2.7's packets.
const (
	ahProto  = 51
	ahLen    = 24
	icvLen   = 12
	ipv4Len  = 20
	ahMaxKey = 8
)

// ahSocket is the IPv4 raw socket for protocol 51 (IP_HDRINCL), opened by
// the first TransportAH.
type ahSocket struct {
	pc  *net.IPConn
	raw *ipv4.RawConn
}

// TransportAH returns the Transport for vrid using VRRPv2 AH
// authentication (keepalived's auth_type AH) with key (the auth_pass, at
// most 8 bytes). IPv4 only. Advertisements are sent and received on a
// second raw socket (IP protocol 51) of this Conn; those failing the ICV
// check are dropped and counted in ConnStats.AuthFailures. The instance's
// Config must use AuthType AuthAH.
func (c *Conn) TransportAH(vrid uint8, key []byte) (Transport, error) {
	if c.cfg.IPv6 {
		return nil, errors.New("vrrp: AH authentication is IPv4 only")
	}
	if len(key) == 0 || len(key) > ahMaxKey {
		return nil, fmt.Errorf("vrrp: AH key must be 1-%d bytes", ahMaxKey)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.checkVRIDLocked(vrid); err != nil {
		return nil, err
	}
	if c.ah == nil {
		var s *ahSocket
		err := inNetNS(c.cfg.NetNS, func() error {
			var err error
			s, err = c.openAH()
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("vrrp: AH socket on %s: %w", c.ifi.Name, err)
		}
		c.ah = s
		c.ahSeq.Store(uint32(time.Now().Unix())) // increases across restarts
		c.wg.Add(1)
		go c.readAH()
	}
	return c.addTransportLocked(vrid, bytes.Clone(key)), nil
}

func (c *Conn) openAH() (*ahSocket, error) {
	pc, err := net.ListenPacket("ip4:51", "0.0.0.0")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			pc.Close()
		}
	}()
	sc, err := pc.(*net.IPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	err = sc.Control(func(fd uintptr) {
		serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, c.ifi.Name)
	})
	if err = errors.Join(err, serr); err != nil {
		return nil, err
	}
	raw, err := ipv4.NewRawConn(pc) // sets IP_HDRINCL
	if err != nil {
		return nil, err
	}
	err = errors.Join(
		raw.SetMulticastLoopback(false),
		raw.SetMulticastInterface(c.ifi),
		raw.SetMulticastTTL(255),
		raw.SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true),
	)
	for _, g := range c.groups { // c.mu is held
		err = errors.Join(err, raw.JoinGroup(c.ifi, &net.IPAddr{IP: net.IP(g.AsSlice())}))
	}
	if err != nil {
		return nil, err
	}
	ok = true
	return &ahSocket{pc: pc.(*net.IPConn), raw: raw}, nil
}

// ahICV computes the ICV of pkt (IPv4 header + AH + VRRP), ignoring the
// mutable IPv4 fields and the ICV field itself.
func ahICV(key, pkt []byte) []byte {
	var hdr [ipv4Len + ahLen]byte
	copy(hdr[:], pkt[:ipv4Len+ahLen])
	hdr[1] = 0              // TOS
	hdr[6], hdr[7] = 0, 0   // flags, fragment offset
	hdr[10], hdr[11] = 0, 0 // header checksum
	clear(hdr[ipv4Len+12:]) // ICV
	mac := hmac.New(md5.New, key)
	mac.Write(hdr[:])
	mac.Write(pkt[ipv4Len+ahLen:])
	return mac.Sum(nil)[:icvLen]
}

// appendAH appends an IPv4 + AH packet carrying payload from src to dst.
func appendAH(b []byte, key []byte, src, dst netip.Addr, tos int, seq uint32, payload []byte) []byte {
	start := len(b)
	id := uint16(seq)
	if id == 0 {
		id = 1 // the kernel would replace a zero ID after the ICV was computed
	}
	b = append(b, 0x45, byte(tos))
	b = binary.BigEndian.AppendUint16(b, uint16(ipv4Len+ahLen+len(payload)))
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, 0, 0, 255, ahProto, 0, 0)
	s4, d4 := src.As4(), dst.As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	b = append(b, ProtocolNumber, (ahLen/4)-2, 0, 0)
	b = append(b, s4[:]...) // SPI: the sender's address, as keepalived
	b = binary.BigEndian.AppendUint32(b, seq)
	b = append(b, make([]byte, icvLen)...)
	b = append(b, payload...)
	copy(b[start+ipv4Len+12:], ahICV(key, b[start:]))
	return b
}

func (c *Conn) writeAH(key, payload []byte, dst netip.Addr) error {
	pkt := appendAH(make([]byte, 0, ipv4Len+ahLen+len(payload)), key, c.src, dst.Unmap(), c.tos, c.ahSeq.Add(1), payload)
	_, err := c.ah.pc.WriteToIP(pkt, &net.IPAddr{IP: net.IP(dst.Unmap().AsSlice())})
	if err != nil {
		c.st.txErrors.Add(1)
		return fmt.Errorf("vrrp: send AH to %s on %s: %w", dst, c.ifi.Name, err)
	}
	c.st.tx.Add(1)
	return nil
}

// readAH reads AH-protected advertisements, checks their ICV with the
// VRID's key and queues the VRRP message. Errors never end it before Close.
func (c *Conn) readAH() {
	defer c.wg.Done()
	buf := make([]byte, 65536)
	backoff := time.Millisecond
	for {
		h, p, cm, err := c.ah.raw.ReadFrom(buf)
		if err != nil {
			if !c.readRetry(err, &backoff) {
				return
			}
			continue
		}
		backoff = time.Millisecond
		if h.Len != ipv4Len || len(p) < ahLen+2 || p[0] != ProtocolNumber || p[1] != ahLen/4-2 {
			c.st.short.Add(1)
			continue
		}
		payload := p[ahLen:]
		t := c.transportFor(payload[1])
		if t == nil || t.key == nil {
			c.st.unknownVRID.Add(1)
			continue
		}
		pkt := buf[:ipv4Len+len(p)]
		if !hmac.Equal(ahICV(t.key, pkt), p[12:ahLen]) {
			c.st.authFailures.Add(1)
			continue
		}
		m := Meta{TTL: h.TTL}
		m.Src, _ = netip.AddrFromSlice(h.Src.To4())
		m.Dst, _ = netip.AddrFromSlice(h.Dst.To4())
		if cm != nil {
			m.IfIndex = cm.IfIndex
		}
		c.enqueue(t, payload, m)
	}
}
