package main

// This file owns the static_ipaddress, static_routes and static_rules:
// added at start, reconciled on reload, removed on exit (only what was
// added). It belongs to the daemon's loop.

import (
	"context"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
)

// static is the running static part.
type static struct {
	vm vip.Controller
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
// On the loop.
func (d *daemon) applyStatic(c *config.Config) {
	addrs, routes, rules, errs := staticItems(c)
	for _, err := range errs {
		d.log.Warn("static address/route/rule skipped", "err", err)
	}
	if d.static == nil {
		if len(addrs)+len(routes)+len(rules) == 0 {
			return
		}
		vm, err := d.sys.newVIP(vip.Config{Logger: d.log.With("component", "static")})
		if err != nil {
			d.log.Error("static addresses", "err", err)
			return
		}
		d.static = &static{vm: vm}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ch, err := d.static.vm.Apply(ctx, vip.Set{Addresses: addrs, Routes: routes, Rules: rules})
	vipMetrics(d.met, ch, err)
	if err != nil {
		d.log.Error("applying static addresses, routes and rules", "err", err)
	}
}

// closeStatic removes the static addresses, routes and rules. On the loop.
func (d *daemon) closeStatic() {
	if d.static == nil {
		return
	}
	if err := d.static.vm.Close(); err != nil {
		d.log.Warn("removing static addresses", "err", err)
	}
	d.static = nil
}
