// Package viptest provides an in-memory [vip.Controller] for tests of code
// that drives a [vip.Manager], on any OS and without privileges.
//
// A [Fake] models the system, not only the calls: it keeps what is "on the
// host" (addresses, routes, rules, VMAC interfaces), what it owns and which
// announcements run, with the Manager's ownership rules. An object that is
// already present when it is added (see [Fake.ExternalAdd]) is not owned
// and is never removed; one that someone else removes (see
// [Fake.ExternalRemove]) is forgotten and put back by the next Apply. Every
// call is recorded ([Fake.Calls]), and [Fake.FailOn] makes a method fail.
package viptest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/nux-root/keepalived-go/vip"
)

var _ vip.Controller = (*Fake)(nil)

// Call is one recorded method call. Method is the method name ("Add",
// "Apply", ...); the fields its arguments map to are set.
type Call struct {
	Method  string
	Address vip.Address // Add, Remove
	Route   vip.Route   // AddRoute, RemoveRoute
	Rule    vip.Rule    // AddRule, RemoveRule
	Set     vip.Set     // Apply
	VMAC    vip.VMAC    // CreateVMAC; DeleteVMAC sets Name only
	Iface   string      // Announce, AnnounceOnce, StopAnnounce
	Addrs   []netip.Addr
	Repeat  int // AnnounceOnce
}

func (c Call) String() string {
	switch c.Method {
	case "Add", "Remove":
		return c.Method + " " + c.Address.String()
	case "AddRoute", "RemoveRoute":
		return c.Method + " " + c.Route.String()
	case "AddRule", "RemoveRule":
		return c.Method + " " + c.Rule.String()
	case "CreateVMAC", "DeleteVMAC":
		return c.Method + " " + c.VMAC.Name
	case "Announce", "AnnounceOnce":
		return fmt.Sprintf("%s %s %v", c.Method, c.Iface, c.Addrs)
	case "StopAnnounce":
		return c.Method + " " + c.Iface
	}
	return c.Method
}

type addrID struct {
	iface  string
	prefix netip.Prefix
}

type entry[T any] struct {
	v     T
	owned bool
}

// Fake is an in-memory [vip.Controller]. The zero value is not usable;
// call [New]. It is safe for concurrent use.
type Fake struct {
	mu       sync.Mutex
	closed   bool
	addrs    map[addrID]entry[vip.Address]
	routes   map[string]entry[vip.Route]
	rules    map[string]entry[vip.Rule]
	vmacs    map[string]vip.VMAC
	annc     map[string][]netip.Addr
	calls    []Call
	failures map[string]error
	st       vip.Stats
	links    map[string]*link
	nextIdx  int
	watches  []*watch
	done     chan struct{} // closed by Close
}

type link struct {
	index int
	up    bool
}

// New returns an empty Fake: nothing on the host, nothing owned.
func New() *Fake {
	return &Fake{
		addrs:    map[addrID]entry[vip.Address]{},
		routes:   map[string]entry[vip.Route]{},
		rules:    map[string]entry[vip.Rule]{},
		vmacs:    map[string]vip.VMAC{},
		annc:     map[string][]netip.Addr{},
		failures: map[string]error{},
		links:    map[string]*link{},
		done:     make(chan struct{}),
	}
}

func canonical(a vip.Address) vip.Address {
	a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits())
	return a
}

func aid(a vip.Address) addrID { return addrID{a.Interface, a.Prefix} }

// routeKey and ruleKey identify a route or rule by every field, as the
// Manager does.
func routeKey(r vip.Route) string { return fmt.Sprintf("%+v", r) }
func ruleKey(r vip.Rule) string   { return fmt.Sprintf("%+v", r) }

// record logs c and returns the failure set for its method, if any, or
// net.ErrClosed after Close (for the methods that fail when closed).
// f.mu is held.
func (f *Fake) record(c Call, closable bool) error {
	f.calls = append(f.calls, c)
	if err := f.failures[c.Method]; err != nil {
		f.st.Errors++
		return err
	}
	if closable && f.closed {
		return vip.ErrClosed
	}
	return nil
}

// Calls returns the calls made so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Methods returns the names of the calls made so far, in order.
func (f *Fake) Methods() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.calls))
	for i, c := range f.calls {
		out[i] = c.Method
	}
	return out
}

// ResetCalls forgets the recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// FailOn makes every later call of method (e.g. "Apply", "Add") return
// err, until FailOn(method, nil). The call is still recorded and changes
// nothing.
func (f *Fake) FailOn(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.failures, method)
		return
	}
	f.failures[method] = err
}

// ExternalAdd puts s on the host as someone else (an operator) would: not
// owned, so the Fake never removes it.
func (f *Fake) ExternalAdd(s vip.Set) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, a := range s.Addresses {
		a = canonical(a)
		if _, ok := f.addrs[aid(a)]; !ok {
			f.addrs[aid(a)] = entry[vip.Address]{v: a}
		}
	}
	for _, r := range s.Routes {
		if _, ok := f.routes[routeKey(r)]; !ok {
			f.routes[routeKey(r)] = entry[vip.Route]{v: r}
		}
	}
	for _, r := range s.Rules {
		if _, ok := f.rules[ruleKey(r)]; !ok {
			f.rules[ruleKey(r)] = entry[vip.Rule]{v: r}
		}
	}
}

// ExternalRemove removes s from the host as someone else would (`ip addr
// del` from outside), owned or not; the Fake forgets what it owned there
// (a Manager forgets it at its next Apply).
//
// Watchers get AddressRemoved and RouteRemoved for the owned ones, as
// from a Manager.
func (f *Fake) ExternalRemove(s vip.Set) {
	f.mu.Lock()
	var evs []vip.Event
	for _, a := range s.Addresses {
		a = canonical(a)
		if e, ok := f.addrs[aid(a)]; ok && e.owned {
			evs = append(evs, f.addrRemoved(e.v))
		}
		delete(f.addrs, aid(a))
	}
	for _, r := range s.Routes {
		if e, ok := f.routes[routeKey(r)]; ok && e.owned {
			evs = append(evs, vip.Event{Kind: vip.RouteRemoved, Route: e.v})
		}
		delete(f.routes, routeKey(r))
	}
	for _, r := range s.Rules {
		delete(f.rules, ruleKey(r))
	}
	f.mu.Unlock()
	for _, e := range evs {
		f.Emit(e)
	}
}

// addrRemoved is the AddressRemoved event of a. f.mu is held.
func (f *Fake) addrRemoved(a vip.Address) vip.Event {
	e := vip.Event{Kind: vip.AddressRemoved, Interface: a.Interface, Address: a}
	if l := f.links[a.Interface]; l != nil {
		e.Index = l.index
	}
	return e
}

// SetLink makes the link name exist and be up (up and running) or down,
// and tells watchers: LinkAdded for a new link (with a new index), LinkUp
// or LinkDown for a change.
func (f *Fake) SetLink(name string, up bool) {
	f.mu.Lock()
	l := f.links[name]
	var e vip.Event
	switch {
	case l == nil:
		f.nextIdx++
		l = &link{index: f.nextIdx, up: up}
		f.links[name] = l
		e = vip.Event{Kind: vip.LinkAdded, Interface: name, Index: l.index, Up: up}
	case l.up != up:
		l.up = up
		e = vip.Event{Kind: vip.LinkDown, Interface: name, Index: l.index}
		if up {
			e = vip.Event{Kind: vip.LinkUp, Interface: name, Index: l.index, Up: true}
		}
	}
	f.mu.Unlock()
	if e.Kind != 0 {
		f.Emit(e)
	}
}

// DeleteLink deletes the link name and the addresses on it, and tells
// watchers: LinkDeleted, then AddressRemoved for each owned address.
func (f *Fake) DeleteLink(name string) {
	f.mu.Lock()
	l := f.links[name]
	if l == nil {
		f.mu.Unlock()
		return
	}
	delete(f.links, name)
	evs := []vip.Event{{Kind: vip.LinkDeleted, Interface: name, Index: l.index}}
	var gone []vip.Address
	for k, e := range f.addrs {
		if e.v.Interface == name {
			if e.owned {
				gone = append(gone, e.v)
			}
			delete(f.addrs, k)
		}
	}
	slices.SortFunc(gone, func(x, y vip.Address) int { return strings.Compare(x.String(), y.String()) })
	for _, a := range gone {
		ev := vip.Event{Kind: vip.AddressRemoved, Interface: name, Index: l.index, Address: a}
		evs = append(evs, ev)
	}
	f.mu.Unlock()
	for _, e := range evs {
		f.Emit(e)
	}
}

type watch struct {
	ch     chan vip.Event
	done   chan struct{} // closed when the watch ends, before ch
	mu     sync.Mutex
	closed bool
}

// Watch is [vip.Manager.Watch] on the model: the channel receives the
// events of SetLink, DeleteLink, ExternalRemove and Emit until ctx is done
// or the Fake is closed, then it is closed. cfg.Existing reports the links
// made with SetLink as LinkAdded first.
func (f *Fake) Watch(ctx context.Context, cfg vip.WatchConfig) (<-chan vip.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Watch"}, true); err != nil {
		return nil, err
	}
	n := cfg.Buffer
	if n <= 0 {
		n = 64
	}
	var initial []vip.Event
	if cfg.Existing {
		for name, l := range f.links {
			initial = append(initial, vip.Event{Kind: vip.LinkAdded, Interface: name, Index: l.index, Up: l.up})
		}
		slices.SortFunc(initial, func(x, y vip.Event) int { return x.Index - y.Index })
	}
	w := &watch{ch: make(chan vip.Event, max(n, len(initial))), done: make(chan struct{})}
	for _, e := range initial {
		w.ch <- e
	}
	f.watches = append(f.watches, w)
	fdone := f.done
	go func() {
		select {
		case <-ctx.Done():
		case <-fdone:
		}
		close(w.done)
		w.mu.Lock()
		w.closed = true
		close(w.ch)
		w.mu.Unlock()
		f.mu.Lock()
		f.watches = slices.DeleteFunc(f.watches, func(x *watch) bool { return x == w })
		f.mu.Unlock()
	}()
	return w.ch, nil
}

// Emit sends e to every running watch, waiting while a watch's channel is
// full (as a Manager's watcher does) until that watch ends.
func (f *Fake) Emit(e vip.Event) {
	f.mu.Lock()
	ws := slices.Clone(f.watches)
	f.mu.Unlock()
	for _, w := range ws {
		w.mu.Lock()
		if !w.closed {
			select {
			case w.ch <- e:
			case <-w.done:
			}
		}
		w.mu.Unlock()
	}
}

// Host returns everything on the host, owned or not, sorted.
func (f *Fake) Host() vip.Set {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set(false)
}

// set returns the host's objects, only the owned ones if owned. f.mu is held.
func (f *Fake) set(owned bool) vip.Set {
	var s vip.Set
	for _, e := range f.addrs {
		if e.owned || !owned {
			s.Addresses = append(s.Addresses, e.v)
		}
	}
	for _, e := range f.routes {
		if e.owned || !owned {
			s.Routes = append(s.Routes, e.v)
		}
	}
	for _, e := range f.rules {
		if e.owned || !owned {
			s.Rules = append(s.Rules, e.v)
		}
	}
	slices.SortFunc(s.Addresses, func(x, y vip.Address) int { return strings.Compare(x.String(), y.String()) })
	slices.SortFunc(s.Routes, func(x, y vip.Route) int { return strings.Compare(routeKey(x), routeKey(y)) })
	slices.SortFunc(s.Rules, func(x, y vip.Rule) int { return strings.Compare(ruleKey(x), ruleKey(y)) })
	return s
}

// Announcing returns the addresses of the announcement running on iface
// (started by Announce, ended by StopAnnounce, RemoveAll or Close), or nil.
func (f *Fake) Announcing(iface string) []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.annc[iface])
}

// VMACs returns the VMAC interfaces created and not deleted, by name.
func (f *Fake) VMACs() []vip.VMAC {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]vip.VMAC, 0, len(f.vmacs))
	for _, v := range f.vmacs {
		out = append(out, v)
	}
	slices.SortFunc(out, func(x, y vip.VMAC) int { return strings.Compare(x.Name, y.Name) })
	return out
}

// Apply is [vip.Manager.Apply] on the model: it plans with [vip.Plan]
// against what the Fake owns and still finds on the host.
func (f *Fake) Apply(ctx context.Context, desired vip.Set) (vip.Changes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Apply", Set: desired}, true); err != nil {
		return vip.Changes{}, err
	}
	if err := desired.Validate(); err != nil {
		f.st.Errors++
		return vip.Changes{}, err
	}
	var ch vip.Changes
	for _, op := range vip.Plan(f.set(true), desired) {
		if err := ctx.Err(); err != nil {
			return ch, err
		}
		changed := true
		switch op.Kind {
		case vip.OpAddAddress:
			changed = f.add(op.Address)
		case vip.OpRemoveAddress:
			f.remove(op.Address)
		case vip.OpAddRoute:
			changed = f.addRoute(op.Route)
		case vip.OpRemoveRoute:
			f.removeRoute(op.Route)
		case vip.OpAddRule:
			changed = f.addRule(op.Rule)
		case vip.OpRemoveRule:
			f.removeRule(op.Rule)
		}
		if changed {
			ch.Ops = append(ch.Ops, op)
		} else {
			ch.Present = append(ch.Present, op)
		}
	}
	return ch, nil
}

// OwnedSet returns what the Fake added and still owns.
func (f *Fake) OwnedSet() vip.Set {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set(true)
}

// Owned returns the addresses the Fake added and still owns.
func (f *Fake) Owned() []vip.Address {
	return f.OwnedSet().Addresses
}

func (f *Fake) add(a vip.Address) bool {
	a = canonical(a)
	if _, ok := f.addrs[aid(a)]; ok {
		if !f.addrs[aid(a)].owned {
			f.st.AddrsPreexisted++
		}
		return false
	}
	f.addrs[aid(a)] = entry[vip.Address]{v: a, owned: true}
	f.st.AddrsAdded++
	return true
}

func (f *Fake) remove(a vip.Address) {
	a = canonical(a)
	if e, ok := f.addrs[aid(a)]; ok && e.owned {
		delete(f.addrs, aid(a))
		f.st.AddrsRemoved++
	}
}

func (f *Fake) addRoute(r vip.Route) bool {
	if _, ok := f.routes[routeKey(r)]; ok {
		return false
	}
	f.routes[routeKey(r)] = entry[vip.Route]{v: r, owned: true}
	f.st.RoutesAdded++
	return true
}

func (f *Fake) removeRoute(r vip.Route) {
	if e, ok := f.routes[routeKey(r)]; ok && e.owned {
		delete(f.routes, routeKey(r))
		f.st.RoutesRemoved++
	}
}

func (f *Fake) addRule(r vip.Rule) bool {
	if _, ok := f.rules[ruleKey(r)]; ok {
		return false
	}
	f.rules[ruleKey(r)] = entry[vip.Rule]{v: r, owned: true}
	f.st.RulesAdded++
	return true
}

func (f *Fake) removeRule(r vip.Rule) {
	if e, ok := f.rules[ruleKey(r)]; ok && e.owned {
		delete(f.rules, ruleKey(r))
		f.st.RulesRemoved++
	}
}

// Add is [vip.Manager.Add] on the model.
func (f *Fake) Add(ctx context.Context, a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Add", Address: a}, true); err != nil {
		return err
	}
	if err := (vip.Set{Addresses: []vip.Address{a}}).Validate(); err != nil {
		f.st.Errors++
		return err
	}
	f.add(a)
	return nil
}

// Remove is [vip.Manager.Remove] on the model.
func (f *Fake) Remove(ctx context.Context, a vip.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Remove", Address: a}, false); err != nil {
		return err
	}
	f.remove(a)
	return nil
}

// AddRoute is [vip.Manager.AddRoute] on the model.
func (f *Fake) AddRoute(ctx context.Context, r vip.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "AddRoute", Route: r}, true); err != nil {
		return err
	}
	if err := (vip.Set{Routes: []vip.Route{r}}).Validate(); err != nil {
		f.st.Errors++
		return err
	}
	f.addRoute(r)
	return nil
}

// RemoveRoute is [vip.Manager.RemoveRoute] on the model.
func (f *Fake) RemoveRoute(ctx context.Context, r vip.Route) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "RemoveRoute", Route: r}, false); err != nil {
		return err
	}
	f.removeRoute(r)
	return nil
}

// AddRule is [vip.Manager.AddRule] on the model.
func (f *Fake) AddRule(ctx context.Context, r vip.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "AddRule", Rule: r}, true); err != nil {
		return err
	}
	if err := (vip.Set{Rules: []vip.Rule{r}}).Validate(); err != nil {
		f.st.Errors++
		return err
	}
	f.addRule(r)
	return nil
}

// RemoveRule is [vip.Manager.RemoveRule] on the model.
func (f *Fake) RemoveRule(ctx context.Context, r vip.Rule) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "RemoveRule", Rule: r}, false); err != nil {
		return err
	}
	f.removeRule(r)
	return nil
}

// CreateVMAC is [vip.Manager.CreateVMAC] on the model.
func (f *Fake) CreateVMAC(ctx context.Context, v vip.VMAC) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "CreateVMAC", VMAC: v}, true); err != nil {
		return err
	}
	if v.Name == "" || v.Parent == "" || v.VRID == 0 {
		f.st.Errors++
		return fmt.Errorf("vip: vmac %q: name, parent and vrid required", v.Name)
	}
	if _, ok := f.vmacs[v.Name]; !ok {
		f.vmacs[v.Name] = v
		f.st.VMACsCreated++
	}
	return nil
}

// DeleteVMAC is [vip.Manager.DeleteVMAC] on the model; the addresses the
// Fake owns on it vanish with it.
func (f *Fake) DeleteVMAC(ctx context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "DeleteVMAC", VMAC: vip.VMAC{Name: name}}, false); err != nil {
		return err
	}
	f.deleteVMAC(name)
	return nil
}

func (f *Fake) deleteVMAC(name string) {
	if _, ok := f.vmacs[name]; !ok {
		return
	}
	delete(f.vmacs, name)
	f.st.VMACsDeleted++
	for k, e := range f.addrs {
		if e.v.Interface == name {
			delete(f.addrs, k)
		}
	}
	delete(f.annc, name)
}

// Announce is [vip.Manager.Announce] on the model: it counts one burst of
// 5 rounds (a gratuitous ARP request and reply per IPv4 address, an NA per
// IPv6 address) and marks the announcement on iface as running.
func (f *Fake) Announce(ctx context.Context, iface string, addrs []netip.Addr) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Announce", Iface: iface, Addrs: slices.Clone(addrs)}, true); err != nil {
		return err
	}
	f.count(addrs, 5)
	f.annc[iface] = slices.Clone(addrs)
	return nil
}

// AnnounceOnce is [vip.Manager.AnnounceOnce] on the model: it counts repeat
// rounds.
func (f *Fake) AnnounceOnce(ctx context.Context, iface string, addrs []netip.Addr, repeat int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "AnnounceOnce", Iface: iface, Addrs: slices.Clone(addrs), Repeat: repeat}, true); err != nil {
		return err
	}
	f.count(addrs, repeat)
	return nil
}

func (f *Fake) count(addrs []netip.Addr, rounds int) {
	for _, a := range addrs {
		if a.Unmap().Is4() {
			f.st.GARPsSent += 2 * uint64(rounds)
		} else {
			f.st.NAsSent += uint64(rounds)
		}
	}
}

// StopAnnounce ends the announcement on iface.
func (f *Fake) StopAnnounce(iface string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, Call{Method: "StopAnnounce", Iface: iface})
	delete(f.annc, iface)
}

// RemoveAll stops every announcement and removes everything owned: rules,
// routes, addresses, then VMACs.
func (f *Fake) RemoveAll(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "RemoveAll"}, false); err != nil {
		return err
	}
	f.removeAll()
	return nil
}

func (f *Fake) removeAll() {
	clear(f.annc)
	own := f.set(true)
	for _, r := range own.Rules {
		f.removeRule(r)
	}
	for _, r := range own.Routes {
		f.removeRoute(r)
	}
	for _, a := range own.Addresses {
		f.remove(a)
	}
	for n := range f.vmacs {
		f.deleteVMAC(n)
	}
}

// Close is RemoveAll, after which the adding methods return
// [vip.ErrClosed]. It is idempotent.
func (f *Fake) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record(Call{Method: "Close"}, false); err != nil {
		return err
	}
	if !f.closed {
		f.removeAll()
		f.closed = true
		close(f.done)
	}
	return nil
}

// Stats returns the Fake's counters, kept as the Manager keeps them.
func (f *Fake) Stats() vip.Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Filtered = uint64(len(f.filtered()))
	return st
}

// Filtered returns the addresses a Manager would hold in its NoAccept
// filter: those of the owned addresses with NoAccept, sorted.
func (f *Fake) Filtered() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.filtered()
}

func (f *Fake) filtered() []netip.Addr {
	var out []netip.Addr
	for _, e := range f.addrs {
		if e.owned && e.v.NoAccept && !slices.Contains(out, e.v.Prefix.Addr()) {
			out = append(out, e.v.Prefix.Addr())
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}
