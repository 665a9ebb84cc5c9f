package vip

// This file holds the desired-state model of Manager.Apply and its pure
// planner: Set, Op, Changes and Plan. It builds and is tested on any OS.

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Set is a desired set of virtual addresses, routes and rules, as given to
// [Manager.Apply]. The order of its slices does not matter.
type Set struct {
	Addresses []Address
	Routes    []Route
	Rules     []Rule
}

// Validate reports every invalid entry of s, and entries that name the same
// object (an address on the same interface with the same prefix, an
// identical route or rule) with different attributes.
func (s Set) Validate() error {
	var errs []error
	addrs := map[addrID]Address{}
	for _, a := range s.Addresses {
		if err := a.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		a = a.canonical()
		if o, ok := addrs[a.id()]; ok && o != a {
			errs = append(errs, fmt.Errorf("vip: address %s given twice with different attributes", a))
		}
		addrs[a.id()] = a
	}
	for _, r := range s.Routes {
		if err := r.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, r := range s.Rules {
		if err := r.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// problems is the list of what is wrong with one object, on one line.
type problems []error

func (p problems) Error() string {
	s := make([]string, len(p))
	for i, e := range p {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (p problems) Unwrap() []error { return p }

// OpKind is the kind of one change [Plan] asks for. The zero value is
// invalid.
type OpKind uint8

// Operation kinds, in the order Plan emits them.
const (
	_ OpKind = iota
	OpRemoveRule
	OpRemoveRoute
	OpRemoveAddress
	OpAddAddress
	OpAddRoute
	OpAddRule
)

var opKindNames = [...]string{"invalid", "remove-rule", "remove-route", "remove-address",
	"add-address", "add-route", "add-rule"}

func (k OpKind) String() string {
	if int(k) < len(opKindNames) {
		return opKindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one change: the Address, Route or Rule field named by Kind is set.
type Op struct {
	Kind    OpKind
	Address Address
	Route   Route
	Rule    Rule
}

// String formats op like an ip(8) command line.
func (op Op) String() string {
	switch op.Kind {
	case OpAddAddress:
		return "ip addr add " + op.Address.String()
	case OpRemoveAddress:
		return "ip addr del " + op.Address.String()
	case OpAddRoute:
		return "ip route add " + op.Route.String()
	case OpRemoveRoute:
		return "ip route del " + op.Route.String()
	case OpAddRule:
		return "ip rule add " + op.Rule.String()
	case OpRemoveRule:
		return "ip rule del " + op.Rule.String()
	}
	return op.Kind.String()
}

// Changes reports what an Apply did.
type Changes struct {
	// Ops are the operations that changed the system, in order.
	Ops []Op
	// Present are the additions that found the object already there
	// (added by someone else): it was left alone and is not owned, so no
	// later Apply, Remove or Close removes it.
	Present []Op
}

// Count returns how many operations of kind k are in c.Ops.
func (c Changes) Count(k OpKind) int {
	n := 0
	for _, op := range c.Ops {
		if op.Kind == k {
			n++
		}
	}
	return n
}

// addrID is the identity of an address: the kernel keeps one address per
// interface, address and prefix length.
type addrID struct {
	iface  string
	prefix netip.Prefix
}

func (a Address) canonical() Address {
	a.Prefix = netip.PrefixFrom(a.Prefix.Addr().Unmap(), a.Prefix.Bits())
	return a
}

func (a Address) id() addrID { return addrID{a.Interface, a.Prefix} }

// key is the identity of a route as the Manager owns it: every field.
func (r Route) key() string {
	return fmt.Sprintf("%s src %v scope %d", r.String(), r.Src, r.Scope)
}

func (r Route) validate() error {
	var errs []error
	if !r.Dst.IsValid() {
		errs = append(errs, errors.New("invalid destination"))
	}
	hops := r.Nexthops.All()
	if len(hops) > 0 && (r.Gateway.IsValid() || r.Interface != "") {
		errs = append(errs, errors.New("gateway or interface given with nexthops"))
	}
	for _, h := range hops {
		if !h.Gateway.IsValid() && h.Interface == "" {
			errs = append(errs, errors.New("nexthop without gateway or interface"))
		}
		if h.Weight < 0 || h.Weight > 256 || len(h.Interface) > 255 {
			errs = append(errs, fmt.Errorf("nexthop weight %d not in 1..256", h.Weight))
		}
	}
	if r.Type > RouteThrow {
		errs = append(errs, fmt.Errorf("unknown type %v", r.Type))
	}
	if r.Type != RouteUnicast && (r.Gateway.IsValid() || len(hops) > 0) {
		errs = append(errs, fmt.Errorf("a %v route has no gateway", r.Type))
	}
	if r.SrcPrefix.IsValid() && r.Dst.IsValid() && r.SrcPrefix.Addr().Is4() != r.Dst.Addr().Is4() {
		errs = append(errs, errors.New("source prefix of another family"))
	}
	if r.SrcPrefix.IsValid() && len(hops) > 0 {
		errs = append(errs, errors.New("source prefix and nexthops together are not supported"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("vip: route %s: %w", r, problems(errs))
	}
	return nil
}

// key is the identity of a rule as the Manager owns it: every field.
func (r Rule) key() string { return r.String() }

func (r Rule) validate() error {
	var errs []error
	switch {
	case r.L3mdev && r.Table != 0:
		errs = append(errs, errors.New("l3mdev takes no table"))
	case r.L3mdev && (r.IPProto != 0 || r.Sport != (PortRange{}) || r.Dport != (PortRange{}) || r.UIDRange != (UIDRange{}) || r.Suppress):
		errs = append(errs, errors.New("l3mdev with ipproto, ports, uidrange or suppress_prefixlength is not supported"))
	case r.Table == 0 && !r.L3mdev:
		errs = append(errs, errors.New("table required"))
	}
	for _, p := range []PortRange{r.Sport, r.Dport} {
		if p.End != 0 && p.End < p.Start {
			errs = append(errs, fmt.Errorf("port range %d-%d is reversed", p.Start, p.End))
		}
	}
	if r.UIDRange.End < r.UIDRange.Start {
		errs = append(errs, fmt.Errorf("uid range %d-%d is reversed", r.UIDRange.Start, r.UIDRange.End))
	}
	if r.Suppress && (r.SuppressPrefixlen < 0 || r.SuppressPrefixlen > 128) {
		errs = append(errs, fmt.Errorf("suppress_prefixlength %d not in 0..128", r.SuppressPrefixlen))
	}
	if len(errs) > 0 {
		return fmt.Errorf("vip: rule %s: %w", r, problems(errs))
	}
	return nil
}

// Plan returns the operations that turn owned (what a Manager added and
// still owns) into desired: it removes what is owned and no longer desired
// and adds what is desired and not owned. An owned object whose attributes
// changed is removed and added again. Objects that are neither owned nor
// desired are never touched, and desired objects that turn out to be
// present already are the executor's business (they are not owned).
//
// Removals come first (rules, routes, addresses), then additions
// (addresses, routes, rules), so a rule never points at a removed table
// entry and a route's source address exists before the route; within a
// kind, operations are sorted by the object's text form. Plan ignores
// invalid entries on both sides; [Set.Validate] reports them.
func Plan(owned, desired Set) []Op {
	var ops []Op
	// Addresses by identity; a changed attribute is a remove and an add.
	have := map[addrID]Address{}
	for _, a := range owned.Addresses {
		if a.validate() != nil {
			continue
		}
		a = a.canonical()
		have[a.id()] = a
	}
	want := map[addrID]Address{}
	for _, a := range desired.Addresses {
		if a.validate() != nil {
			continue
		}
		a = a.canonical()
		want[a.id()] = a
	}
	haveRoutes, wantRoutes := keyed(owned.Routes, Route.key, Route.validate), keyed(desired.Routes, Route.key, Route.validate)
	haveRules, wantRules := keyed(owned.Rules, Rule.key, Rule.validate), keyed(desired.Rules, Rule.key, Rule.validate)

	ops = appendDiff(ops, haveRules, wantRules, func(r Rule) Op { return Op{Kind: OpRemoveRule, Rule: r} })
	ops = appendDiff(ops, haveRoutes, wantRoutes, func(r Route) Op { return Op{Kind: OpRemoveRoute, Route: r} })
	var rm, add []Op
	for id, a := range have {
		if w, ok := want[id]; !ok || w != a {
			rm = append(rm, Op{Kind: OpRemoveAddress, Address: a})
		}
	}
	for id, a := range want {
		if h, ok := have[id]; !ok || h != a {
			add = append(add, Op{Kind: OpAddAddress, Address: a})
		}
	}
	byAddr := func(x, y Op) int { return cmp.Compare(x.Address.String(), y.Address.String()) }
	slices.SortFunc(rm, byAddr)
	slices.SortFunc(add, byAddr)
	ops = append(ops, rm...)
	ops = append(ops, add...)
	ops = appendDiff(ops, wantRoutes, haveRoutes, func(r Route) Op { return Op{Kind: OpAddRoute, Route: r} })
	ops = appendDiff(ops, wantRules, haveRules, func(r Rule) Op { return Op{Kind: OpAddRule, Rule: r} })
	return ops
}

func keyed[T any](vs []T, key func(T) string, valid func(T) error) map[string]T {
	m := make(map[string]T, len(vs))
	for _, v := range vs {
		if valid(v) != nil {
			continue
		}
		m[key(v)] = v
	}
	return m
}

// appendDiff appends an op for every entry of from whose key is not in
// not, sorted by key.
func appendDiff[T any](ops []Op, from, not map[string]T, op func(T) Op) []Op {
	keys := make([]string, 0, len(from))
	for k := range from {
		if _, ok := not[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		ops = append(ops, op(from[k]))
	}
	return ops
}
