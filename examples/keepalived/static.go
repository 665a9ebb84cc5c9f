package main

import (
	"context"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
)

// static owns the static_ipaddress, static_routes and static_rules: added
// at start, reconciled on reload, removed on exit (only what was added).
type static struct {
	vm     *vip.Manager
	addrs  map[vip.Address]bool
	routes map[vip.Route]bool
	rules  map[vip.Rule]bool
}

// staticItems translates the static blocks of c.
func staticItems(c *config.Config) ([]vip.Address, []vip.Route, []vip.Rule, []error) {
	pseudo := &config.Instance{VirtualIPs: c.StaticAddresses, VirtualRoutes: c.StaticRoutes, VirtualRules: c.StaticRules}
	a, e1 := vipAddresses(pseudo)
	r, e2 := vipRoutes(pseudo)
	u, e3 := vipRules(pseudo)
	var rules []vip.Rule
	for _, x := range u {
		x.IPv6 = (x.From.IsValid() && x.From.Addr().Is6()) || (x.To.IsValid() && x.To.Addr().Is6())
		rules = append(rules, x)
	}
	return a, r, rules, append(append(e1, e2...), e3...)
}

// applyStatic makes the static addresses, routes and rules those of c.
// Called with d.mu held.
func (d *daemon) applyStatic(c *config.Config) {
	addrs, routes, rules, errs := staticItems(c)
	for _, err := range errs {
		d.log.Warn("static address/route/rule skipped", "err", err)
	}
	if d.static == nil {
		if len(addrs)+len(routes)+len(rules) == 0 {
			return
		}
		vm, err := vip.New(vip.Config{NetNS: d.opt.NetNS, Logger: d.log.With("component", "static")})
		if err != nil {
			d.log.Error("static addresses", "err", err)
			return
		}
		d.static = &static{vm: vm, addrs: map[vip.Address]bool{}, routes: map[vip.Route]bool{}, rules: map[vip.Rule]bool{}}
	}
	s := d.static
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Removals first (rules and routes before the addresses they may
	// use), then additions in the opposite order.
	prune(s.rules, rules, func(r vip.Rule) {
		d.met.vipOp("remove_rule", logErr(d.log, "removing static rule", s.vm.RemoveRule(ctx, r)))
	})
	prune(s.routes, routes, func(r vip.Route) {
		d.met.vipOp("remove_route", logErr(d.log, "removing static route", s.vm.RemoveRoute(ctx, r)))
	})
	prune(s.addrs, addrs, func(a vip.Address) {
		d.met.vipOp("remove", logErr(d.log, "removing static address", s.vm.Remove(ctx, a)))
	})
	install(s.addrs, addrs, func(a vip.Address) error {
		err := logErr(d.log, "adding static address", s.vm.Add(ctx, a))
		d.met.vipOp("add", err)
		return err
	})
	install(s.routes, routes, func(r vip.Route) error {
		err := logErr(d.log, "adding static route", s.vm.AddRoute(ctx, r))
		d.met.vipOp("add_route", err)
		return err
	})
	install(s.rules, rules, func(r vip.Rule) error {
		err := logErr(d.log, "adding static rule", s.vm.AddRule(ctx, r))
		d.met.vipOp("add_rule", err)
		return err
	})
}
