package vip

// This file holds the event model of Manager.Watch (Event, EventKind,
// WatchConfig) and the pure link-state diff it is built on. It builds and
// is tested on any OS.

import (
	"cmp"
	"fmt"
	"slices"
)

// EventKind is the kind of an [Event]. The zero value is invalid.
type EventKind uint8

// Event kinds.
const (
	_ EventKind = iota
	// LinkAdded: a link appeared, created or recreated (a deleted
	// interface that comes back has a new index). Up gives its state.
	LinkAdded
	// LinkUp: the link is now up and running (IFF_UP and IFF_RUNNING, as
	// keepalived's interface tracking counts it).
	LinkUp
	// LinkDown: the link is no longer up and running.
	LinkDown
	// LinkDeleted: the link is gone.
	LinkDeleted
	// AddressRemoved: an address the Manager owns is no longer on its
	// interface (someone else removed it, replaced it by a copy not marked
	// as ours, or deleted the interface). The Manager still counts it as
	// owned until the next Apply, which puts it back.
	AddressRemoved
	// RouteRemoved: a route the Manager owns is no longer in the kernel
	// (deleted by someone else, or flushed with its link). Apply puts it
	// back.
	RouteRemoved
	// Resynced: the event stream overran (ENOBUFS) or failed and was
	// re-established; the state was read back and the differences were
	// reported before this event, but transitions in between may have been
	// coalesced.
	Resynced
)

var eventKindNames = [...]string{"invalid", "link-added", "link-up", "link-down", "link-deleted",
	"address-removed", "route-removed", "resynced"}

func (k EventKind) String() string {
	if int(k) < len(eventKindNames) {
		return eventKindNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is something that happened in the Manager's namespace.
type Event struct {
	Kind EventKind
	// Interface and Index name the link of link events and the interface
	// of AddressRemoved.
	Interface string
	Index     int
	// Up is the link's state for the link events (false for LinkDeleted).
	Up bool
	// Address is the owned address of AddressRemoved.
	Address Address
	// Route is the owned route of RouteRemoved.
	Route Route
}

func (e Event) String() string {
	switch e.Kind {
	case LinkAdded:
		return fmt.Sprintf("%v %s (index %d, up %v)", e.Kind, e.Interface, e.Index, e.Up)
	case LinkUp, LinkDown, LinkDeleted:
		return fmt.Sprintf("%v %s (index %d)", e.Kind, e.Interface, e.Index)
	case AddressRemoved:
		return fmt.Sprintf("%v %s", e.Kind, e.Address)
	case RouteRemoved:
		return fmt.Sprintf("%v %s", e.Kind, e.Route)
	}
	return e.Kind.String()
}

// WatchConfig configures [Manager.Watch]. The zero value is usable.
type WatchConfig struct {
	// Buffer is the capacity of the event channel. If zero, 64. When the
	// channel is full the watcher waits; if the kernel's queue overruns
	// meanwhile, the watcher resynchronizes (see Resynced), so a slow
	// reader loses transitions but never the final state.
	Buffer int
	// Existing makes Watch report the links present when it starts as
	// LinkAdded events before any change.
	Existing bool
	// ReceiveBuffer is the size of each netlink socket's receive buffer
	// (keepalived's vrrp_netlink_monitor_rcv_bufs). If zero, the system
	// default.
	ReceiveBuffer int
	// ReceiveBufferForce sets ReceiveBuffer beyond net.core.rmem_max
	// (SO_RCVBUFFORCE, needs CAP_NET_ADMIN).
	ReceiveBufferForce bool
}

func (c WatchConfig) buffer() int {
	if c.Buffer <= 0 {
		return 64
	}
	return c.Buffer
}

// linkState is what Watch remembers of a link.
type linkState struct {
	name string
	up   bool
}

// linkDiff returns the events that turn the links in old into those in
// cur, sorted by index (deletions first, so a recreated name reads as
// deleted, then added).
func linkDiff(old, cur map[int]linkState) []Event {
	var del, rest []Event
	for i, o := range old {
		if _, ok := cur[i]; !ok {
			del = append(del, Event{Kind: LinkDeleted, Interface: o.name, Index: i})
		}
	}
	for i, c := range cur {
		o, ok := old[i]
		switch {
		case !ok:
			rest = append(rest, Event{Kind: LinkAdded, Interface: c.name, Index: i, Up: c.up})
		case c.up && !o.up:
			rest = append(rest, Event{Kind: LinkUp, Interface: c.name, Index: i, Up: true})
		case !c.up && o.up:
			rest = append(rest, Event{Kind: LinkDown, Interface: c.name, Index: i})
		}
	}
	byIndex := func(x, y Event) int { return cmp.Compare(x.Index, y.Index) }
	slices.SortFunc(del, byIndex)
	slices.SortFunc(rest, byIndex)
	return append(del, rest...)
}
