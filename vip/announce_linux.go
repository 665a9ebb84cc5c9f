package vip

// This file owns the announcements on Linux: gratuitous ARP and
// unsolicited NA sent over AF_PACKET sockets (one per interface), the
// AnnouncePolicy bursts and refresh goroutines, AnnounceOnce and
// StopAnnounce.

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mdlayher/packet"
	"github.com/vishvananda/netlink"
)

type announcer struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// conn returns the AF_PACKET socket for l, opening it in the namespace.
func (m *Manager) conn(l netlink.Link) (*packet.Conn, error) {
	idx := l.Attrs().Index
	if c, ok := m.conns[idx]; ok {
		return c, nil
	}
	ifi := &net.Interface{Index: idx, Name: l.Attrs().Name, HardwareAddr: l.Attrs().HardwareAddr, MTU: l.Attrs().MTU}
	var c *packet.Conn
	err := m.inNS(func() error {
		var err error
		// Protocol 0: a send-only socket that receives nothing.
		c, err = packet.Listen(ifi, packet.Raw, 0, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("vip: packet socket on %s: %w", ifi.Name, err)
	}
	m.conns[idx] = c
	return c, nil
}

func (m *Manager) ipv6Forwarding(iface string) bool {
	var on bool
	_ = m.inNS(func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv6/conf/" + iface + "/forwarding")
		if err == nil {
			v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			on = v != 0
		}
		return nil
	})
	return on
}

// send sends repeat rounds of announcements for addrs on iface: for each
// IPv4 address a gratuitous ARP request and reply, for each IPv6 address an
// unsolicited NA, with interval between rounds.
func (m *Manager) send(ctx context.Context, iface string, addrs []netip.Addr, repeat int, interval time.Duration) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	l, err := m.link(iface)
	if err != nil {
		m.mu.Unlock()
		return m.fail(err)
	}
	c, err := m.conn(l)
	m.mu.Unlock()
	if err != nil {
		return m.fail(err)
	}
	var mac [6]byte
	copy(mac[:], l.Attrs().HardwareAddr)
	router := false
	for _, a := range addrs {
		if a.Is6() && !a.Is4In6() {
			router = m.ipv6Forwarding(iface)
			break
		}
	}
	buf := make([]byte, 0, 128)
	for i := range repeat {
		if i > 0 && interval > 0 {
			t := time.NewTimer(interval)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		for _, a := range addrs {
			if err := ctx.Err(); err != nil {
				return err
			}
			a = a.Unmap()
			if a.Is4() {
				for _, op := range []uint16{arpOpRequest, arpOpReply} {
					buf = appendGARP(buf[:0], mac, a, op)
					if _, err := c.WriteTo(buf, &packet.Addr{HardwareAddr: net.HardwareAddr(ethBroadcast[:])}); err != nil {
						return m.fail(fmt.Errorf("vip: send gratuitous arp for %s on %s: %w", a, iface, err))
					}
					m.st.garps.Add(1)
				}
			} else {
				buf = appendUnsolicitedNA(buf[:0], mac, a, a, router)
				if _, err := c.WriteTo(buf, &packet.Addr{HardwareAddr: net.HardwareAddr(ethAllNodes[:])}); err != nil {
					return m.fail(fmt.Errorf("vip: send neighbour advertisement for %s on %s: %w", a, iface, err))
				}
				m.st.nas.Add(1)
			}
		}
	}
	return nil
}

// AnnounceOnce sends repeat rounds of announcements (GARP request + reply per
// IPv4 address, unsolicited NA per IPv6 address) on iface, spaced by the
// policy's Interval, and returns when done. Use it for keepalived's
// garp_lower_prio_repeat.
func (m *Manager) AnnounceOnce(ctx context.Context, iface string, addrs []netip.Addr, repeat int) error {
	return m.send(ctx, iface, addrs, repeat, m.cfg.Announce.Interval)
}

// Announce applies the announcement policy for addrs on iface after becoming
// master: it sends the first burst before returning, then, in the
// background, the second burst after SecondBurstDelay and the periodic
// refresh, until StopAnnounce(iface), a new Announce on iface, or Close.
func (m *Manager) Announce(ctx context.Context, iface string, addrs []netip.Addr) error {
	m.StopAnnounce(iface)
	p := m.cfg.Announce
	if err := m.send(ctx, iface, addrs, p.repeat(), p.Interval); err != nil {
		return err
	}
	if p.secondDelay() < 0 && p.Refresh <= 0 {
		return nil
	}
	addrs = slices.Clone(addrs)
	bctx, cancel := context.WithCancel(context.Background())
	a := &announcer{cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		cancel()
		return ErrClosed
	}
	// A concurrent Announce on iface may have registered since our
	// StopAnnounce: replace it, or its goroutine would run unstopped.
	old := m.annc[iface]
	m.annc[iface] = a
	m.wg.Add(1)
	m.mu.Unlock()
	if old != nil {
		old.cancel()
		<-old.done
	}
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		wait := func(d time.Duration) bool {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-bctx.Done():
				return false
			case <-t.C:
				return true
			}
		}
		if d := p.secondDelay(); d > 0 {
			if !wait(d) {
				return
			}
			if err := m.send(bctx, iface, addrs, p.repeat(), p.Interval); err != nil && bctx.Err() == nil {
				m.log.Warn("second announcement burst", "iface", iface, "err", err)
			}
		}
		for p.Refresh > 0 && wait(p.Refresh) {
			if err := m.send(bctx, iface, addrs, p.refreshRepeat(), p.Interval); err != nil && bctx.Err() == nil {
				m.log.Warn("announcement refresh", "iface", iface, "err", err)
			}
		}
	}()
	return nil
}

// StopAnnounce cancels pending announcements on iface and waits for them.
func (m *Manager) StopAnnounce(iface string) {
	m.mu.Lock()
	a := m.annc[iface]
	delete(m.annc, iface)
	m.mu.Unlock()
	if a != nil {
		a.cancel()
		<-a.done
	}
}
