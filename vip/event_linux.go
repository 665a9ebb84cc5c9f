package vip

// This file owns Manager.Watch on Linux: netlink link, address and route
// subscriptions in the Manager's namespace, the link model and the
// owned-object check that turn them into Events, and the resubscription
// and resynchronization after an overrun.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Watch reports, on the returned channel, link events in the Manager's
// namespace (added, up, down, deleted) and the owned addresses and routes
// that someone else removed, without polling: it subscribes to the
// kernel's link, address and route notifications. The channel is closed
// when ctx is done or the Manager is closed.
//
// The link state is read when Watch returns, so every later change is
// reported. An owned object is reported once when it goes missing, and
// again only if it came back in between. If the kernel's queue overruns
// (ENOBUFS: a slow reader, a burst of changes), Watch subscribes again,
// reads the state back, reports the differences and then [Resynced].
// Several Watch calls may run at once; each has its own sockets.
func (m *Manager) Watch(ctx context.Context, cfg WatchConfig) (<-chan Event, error) {
	if cfg.Buffer < 0 || cfg.ReceiveBuffer < 0 {
		return nil, fmt.Errorf("vip: watch: negative buffer size (%d, %d)", cfg.Buffer, cfg.ReceiveBuffer)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w := &watcher{m: m, cfg: cfg, out: make(chan Event, cfg.buffer()), missing: map[string]bool{}}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.wg.Add(1)
	m.mu.Unlock()
	s, err := w.subscribe()
	if err != nil {
		m.wg.Done()
		return nil, m.fail(err)
	}
	links, err := w.dumpLinks()
	if err != nil {
		s.close()
		m.wg.Done()
		return nil, m.fail(err)
	}
	var initial []Event
	if cfg.Existing {
		initial = linkDiff(nil, links)
	}
	w.links = links
	go w.run(ctx, s, initial)
	return w.out, nil
}

type watcher struct {
	m   *Manager
	cfg WatchConfig
	out chan Event
	// links is the state of every link as last reported.
	links map[int]linkState
	// missing are the owned objects reported missing, by key.
	missing map[string]bool
}

// subscription is one set of netlink subscriptions; a resync replaces it.
type subscription struct {
	done    chan struct{}
	closing atomic.Bool
	links   chan netlink.LinkUpdate
	addrs   chan netlink.AddrUpdate
	routes  chan netlink.RouteUpdate
}

// close ends the subscriptions and waits until their goroutines have
// ended (they close their channels after their sockets close).
func (s *subscription) close() {
	s.closing.Store(true)
	close(s.done)
	if s.links != nil {
		for range s.links {
		}
	}
	if s.addrs != nil {
		for range s.addrs {
		}
	}
	if s.routes != nil {
		for range s.routes {
		}
	}
}

func (w *watcher) subscribe() (*subscription, error) {
	m := w.m
	s := &subscription{done: make(chan struct{})}
	var ns = m.ns
	nsp := &ns
	if !m.ns.IsOpen() {
		nsp = nil
	}
	cberr := func(err error) {
		if s.closing.Load() {
			return // the socket closing under the receiver
		}
		m.st.watchErrors.Add(1)
		m.log.Warn("netlink watch", "err", err)
	}
	links := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribeWithOptions(links, s.done, netlink.LinkSubscribeOptions{
		Namespace: nsp, ErrorCallback: cberr,
		ReceiveBufferSize: w.cfg.ReceiveBuffer, ReceiveBufferForceSize: w.cfg.ReceiveBufferForce,
	}); err != nil {
		s.close()
		return nil, fmt.Errorf("vip: subscribe to links: %w", err)
	}
	s.links = links
	addrs := make(chan netlink.AddrUpdate, 16)
	if err := netlink.AddrSubscribeWithOptions(addrs, s.done, netlink.AddrSubscribeOptions{
		Namespace: nsp, ErrorCallback: cberr,
		ReceiveBufferSize: w.cfg.ReceiveBuffer, ReceiveBufferForceSize: w.cfg.ReceiveBufferForce,
	}); err != nil {
		s.close()
		return nil, fmt.Errorf("vip: subscribe to addresses: %w", err)
	}
	s.addrs = addrs
	routes := make(chan netlink.RouteUpdate, 16)
	if err := netlink.RouteSubscribeWithOptions(routes, s.done, netlink.RouteSubscribeOptions{
		Namespace: nsp, ErrorCallback: cberr,
		ReceiveBufferSize: w.cfg.ReceiveBuffer, ReceiveBufferForceSize: w.cfg.ReceiveBufferForce,
	}); err != nil {
		s.close()
		return nil, fmt.Errorf("vip: subscribe to routes: %w", err)
	}
	s.routes = routes
	return s, nil
}

func up(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

// dumpLinks reads every link's state.
func (w *watcher) dumpLinks() (map[int]linkState, error) {
	m := w.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	var ls []netlink.Link
	var err error
	for range 3 {
		if ls, err = m.h.LinkList(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("vip: list links: %w", err)
	}
	out := make(map[int]linkState, len(ls))
	for _, l := range ls {
		a := l.Attrs()
		out[a.Index] = linkState{name: a.Name, up: up(a.RawFlags)}
	}
	return out, nil
}

// emit sends e unless the watch ends first; it reports whether it sent.
func (w *watcher) emit(ctx context.Context, e Event) bool {
	select {
	case w.out <- e:
		return true
	case <-ctx.Done():
	case <-w.m.done:
	}
	return false
}

func (w *watcher) run(ctx context.Context, s *subscription, initial []Event) {
	defer w.m.wg.Done()
	defer close(w.out)
	defer func() {
		if s != nil {
			s.close()
		}
	}()
	for _, e := range initial {
		if !w.emit(ctx, e) {
			return
		}
	}
	if !w.checkOwned(ctx) {
		return
	}
	for {
		ok := true
		select {
		case <-ctx.Done():
			return
		case <-w.m.done:
			return
		case u, open := <-s.links:
			if !open {
				s, ok = w.resync(ctx, s)
				break
			}
			ok = w.onLink(ctx, u)
		case u, open := <-s.addrs:
			if !open {
				s, ok = w.resync(ctx, s)
				break
			}
			ok = w.onAddr(ctx, u)
		case u, open := <-s.routes:
			if !open {
				s, ok = w.resync(ctx, s)
				break
			}
			// A route of ours is gone, or back (and may go missing again).
			if u.Route.Protocol == RouteProtocol && (u.Type == unix.RTM_DELROUTE || len(w.missing) > 0) {
				ok = w.checkOwned(ctx)
			}
		}
		if !ok {
			return
		}
	}
}

func (w *watcher) onLink(ctx context.Context, u netlink.LinkUpdate) bool {
	idx := int(u.Index)
	old, known := w.links[idx]
	if u.Header.Type == unix.RTM_DELLINK {
		if !known {
			return true
		}
		delete(w.links, idx)
		return w.emit(ctx, Event{Kind: LinkDeleted, Interface: old.name, Index: idx}) && w.checkOwned(ctx)
	}
	cur := linkState{name: u.Attrs().Name, up: up(u.Flags)}
	w.links[idx] = cur
	var prev map[int]linkState
	if known {
		prev = map[int]linkState{idx: old}
	}
	for _, e := range linkDiff(prev, map[int]linkState{idx: cur}) {
		if !w.emit(ctx, e) {
			return false
		}
	}
	if known && old.up && !cur.up {
		// IPv4 routes through a link that goes down are flushed without a
		// notification: look for the owned ones.
		return w.checkOwned(ctx)
	}
	return true
}

func (w *watcher) onAddr(ctx context.Context, u netlink.AddrUpdate) bool {
	if u.LinkAddress.IP == nil || (u.NewAddr && len(w.missing) == 0) {
		return true
	}
	ip, ok := netip.AddrFromSlice(u.LinkAddress.IP)
	if !ok {
		return true
	}
	ones, _ := u.LinkAddress.Mask.Size()
	key := addrKey{u.LinkIndex, netip.PrefixFrom(ip.Unmap(), ones)}
	w.m.mu.Lock()
	_, owned := w.m.addrs[key]
	w.m.mu.Unlock()
	if !owned {
		return true
	}
	// An address of ours is gone, or back (and may go missing again).
	return w.checkOwned(ctx)
}

// checkOwned reads the kernel back and reports the owned addresses and
// routes newly missing. It returns false if the watch ended.
func (w *watcher) checkOwned(ctx context.Context) bool {
	m := w.m
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	miss, err := m.ownedMissing()
	var evs []Event
	now := map[string]bool{}
	if err == nil {
		for _, k := range miss.addrs {
			a := m.addrs[k]
			id := "addr " + a.Interface + " " + k.prefix.String()
			now[id] = true
			if !w.missing[id] {
				evs = append(evs, Event{Kind: AddressRemoved, Interface: a.Interface, Index: k.ifindex, Address: a})
			}
		}
		for _, k := range miss.routes {
			id := "route " + k
			now[id] = true
			if !w.missing[id] {
				evs = append(evs, Event{Kind: RouteRemoved, Route: m.routes[k].v})
			}
		}
	}
	m.mu.Unlock()
	if err != nil {
		m.st.watchErrors.Add(1)
		m.log.Warn("netlink watch: read back owned objects", "err", err)
		return true
	}
	w.missing = now
	for _, e := range evs {
		if !w.emit(ctx, e) {
			return false
		}
	}
	return true
}

// resync replaces the failed subscription s (a socket overran or failed),
// reads the state back and reports the differences, then Resynced. It
// retries with a growing delay (up to 10 s) while subscribing fails. It
// returns false if the watch ended.
func (w *watcher) resync(ctx context.Context, s *subscription) (*subscription, bool) {
	s.close()
	w.m.st.watchResyncs.Add(1)
	w.m.log.Info("netlink watch overran or failed, resynchronizing")
	delay := 100 * time.Millisecond
	for {
		ns, err := w.subscribe()
		if err == nil {
			links, err := w.dumpLinks()
			if err == nil {
				evs := linkDiff(w.links, links)
				w.links = links
				for _, e := range evs {
					if !w.emit(ctx, e) {
						return ns, false
					}
				}
				if !w.checkOwned(ctx) {
					return ns, false
				}
				return ns, w.emit(ctx, Event{Kind: Resynced})
			}
			ns.close()
		}
		if errors.Is(err, ErrClosed) {
			return nil, false
		}
		w.m.st.watchErrors.Add(1)
		w.m.log.Warn("netlink watch: resubscribe", "err", err, "retry in", delay)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, false
		case <-w.m.done:
			t.Stop()
			return nil, false
		case <-t.C:
		}
		delay = min(2*delay, 10*time.Second)
	}
}
