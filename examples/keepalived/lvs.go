package main

// This file owns the virtual servers at run time: check.Monitor watches
// (posted to the daemon's loop) feed one ipvs.Policy per virtual server;
// after a burst of changes settles the union of their desired services
// goes to a worker that runs ipvs.Manager.Apply, and the IPVS sync daemon
// follows the VRRP instance named by lvs_sync_daemon. The lvs belongs to
// the loop; the worker only touches the manager.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/vrrp"
)

// lvsSettle is how long the lvs waits after a change before it applies:
// a reload delivers every checker's current state right after the new
// policies start, and one Apply covers the burst.
const lvsSettle = 100 * time.Millisecond

// lvs runs the virtual servers.
type lvs struct {
	log    *slog.Logger
	met    *metrics
	sys    system
	mon    *check.Monitor
	post   func(func()) // runs a closure on the daemon's loop
	notify *notifier

	mgr     *ipvs.Manager // nil when IPVS is unavailable
	noIPVS  bool
	vss     []*vsRun
	watches []func()
	sync    *config.LVSSyncDaemon
	role    ipvs.Role
	gen     int         // bumped by every change; a settled timer applies only its own
	stopT   func() bool // the settle timer, if armed
	worker  *queue      // runs the manager's calls, in order
}

// vsRun is one virtual server: its policy and the keys it expands to.
type vsRun struct {
	name string
	pol  *ipvs.Policy
	keys []ipvs.ServiceKey // group expansion; empty: the policy's own key
}

func newLVS(log *slog.Logger, met *metrics, sys system, mon *check.Monitor, post func(func()), n *notifier) *lvs {
	return &lvs{log: log.With("component", "lvs"), met: met, sys: sys, mon: mon, post: post, notify: n, worker: newQueue()}
}

// ensureManager opens IPVS when the configuration has virtual servers or
// a sync daemon. If the kernel has no IPVS, it logs once and the daemon
// runs VRRP only.
func (l *lvs) ensureManager(cfg *config.Config) bool {
	if l.mgr != nil {
		return true
	}
	if l.noIPVS || (len(cfg.VirtualServers) == 0 && cfg.Global.LVSSyncDaemon == nil) {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := l.sys.dialIPVS(ctx, ipvs.Config{Logger: l.log})
	if errors.Is(err, errNoIPVS) {
		l.noIPVS = true
		l.log.Error("IPVS is not available (no /proc/net/ip_vs: load the ip_vs module); virtual servers are ignored, VRRP keeps running")
		return false
	}
	if err != nil {
		l.noIPVS = true
		l.log.Error("IPVS unavailable; virtual servers are ignored, VRRP keeps running", "err", err)
		return false
	}
	l.mgr = m
	return true
}

// apply replaces the virtual servers with those of cfg. Checker state is
// not carried over: new watches start as the configuration says (alpha).
func (l *lvs) apply(cfg *config.Config) {
	if !l.ensureManager(cfg) {
		return
	}
	run := func(n config.Notify, what string) { l.notify.run(n, nil, what) }
	var vss []*vsRun
	var ws []func()
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		v, err := buildVS(cfg, vs, run)
		if err != nil {
			l.log.Error("virtual_server skipped", "vs", vs.String(), "err", err)
			continue
		}
		vss = append(vss, v)
		for ri := range vs.RealServers {
			rs := &vs.RealServers[ri]
			addr := netip.AddrPortFrom(rs.Addr, rs.Port)
			for ci := range rs.Checkers {
				c := &rs.Checkers[ci]
				name := checkerName(ci, c)
				checker, err := buildChecker(cfg, vs, rs, c)
				if err != nil {
					l.log.Error("checker skipped; real server considered up", "vs", vs.String(), "rs", addr.String(), "checker", string(c.Kind), "err", err)
					v.pol.Set(addr, name, true)
					continue
				}
				timeout := c.ConnectTimeout
				if c.Kind == config.MiscCheck && c.MiscTimeout > 0 {
					timeout = c.MiscTimeout
				}
				alpha := vs.Alpha
				if c.Alpha != nil {
					alpha = *c.Alpha
				}
				label := fmt.Sprintf("%s %s %s", vs.String(), addr, c.Kind)
				kind := string(c.Kind)
				rm, err := l.mon.Add(check.Watch{
					Checker: checker,
					Policy: check.Policy{Interval: c.DelayLoop, Timeout: timeout, Retry: c.Retry,
						DelayBeforeRetry: c.DelayBeforeRetry, Warmup: c.Warmup, Alpha: alpha},
					Name:         label,
					OnTransition: func(tr check.Transition) { l.post(func() { l.checkResult(v, kind, label, addr, name, tr) }) },
				})
				if err != nil {
					l.log.Error("checker", "target", label, "err", err)
					continue
				}
				ws = append(ws, rm)
			}
		}
	}
	for _, rm := range l.watches {
		rm()
	}
	l.vss, l.watches = vss, ws
	l.sync = cfg.Global.LVSSyncDaemon
	l.changed()
}

// checkResult is a checker transition, on the loop.
func (l *lvs) checkResult(v *vsRun, kind, label string, addr netip.AddrPort, name string, tr check.Transition) {
	if !l.current(v) {
		return
	}
	up := tr.To == check.StateUp
	l.met.checkResult(kind, label, up)
	if tr.Cause != check.CauseInitial {
		l.log.Info("checker", "target", label, "up", up, "cause", tr.Cause, "err", tr.Err)
	}
	v.pol.Set(addr, name, up)
	if up && tr.Dynamic {
		v.pol.SetWeight(addr, tr.Weight)
	}
	l.changed()
}

func (l *lvs) current(v *vsRun) bool {
	for _, x := range l.vss {
		if x == v {
			return true
		}
	}
	return false
}

// changed (re)arms the settle timer; when it fires the desired state
// goes to the worker.
func (l *lvs) changed() {
	l.gen++
	gen := l.gen
	if l.stopT != nil {
		l.stopT()
	}
	l.stopT = l.sys.clock.AfterFunc(lvsSettle, func() {
		l.post(func() {
			if l.gen == gen && l.mgr != nil {
				l.stopT = nil
				l.push(l.desired())
			}
		})
	})
}

// desired is the union of the virtual servers' desired services.
func (l *lvs) desired() ipvs.State {
	var st ipvs.State
	for _, v := range l.vss {
		svc := v.pol.Service()
		if len(v.keys) == 0 {
			st.Services = append(st.Services, svc)
			continue
		}
		st.Services = append(st.Services, ipvs.Group{Name: v.name, Keys: v.keys}.Expand(svc)...)
	}
	return st
}

// push hands a desired state to the worker.
func (l *lvs) push(st ipvs.State) {
	mgr, met, log := l.mgr, l.met, l.log
	l.worker.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ch, err := mgr.Apply(ctx, st)
		cancel()
		for _, k := range []ipvs.OpKind{ipvs.AddService, ipvs.UpdateService, ipvs.DeleteService,
			ipvs.AddDestination, ipvs.UpdateDestination, ipvs.DeleteDestination, ipvs.SetTimeouts} {
			met.ipvsOp(k.String(), ch.Count(k))
		}
		if err != nil {
			log.Error("ipvs apply", "err", err)
		} else if len(ch.Ops) > 0 {
			log.Info("ipvs applied", "ops", len(ch.Ops))
		}
	})
}

// vrrpState starts or stops the IPVS sync daemon following the VRRP
// instance named in lvs_sync_daemon: master role while MASTER, backup
// role otherwise. On the loop; the worker talks to the kernel.
func (l *lvs) vrrpState(inst string, s vrrp.State) {
	sd, mgr := l.sync, l.mgr
	if sd == nil || mgr == nil || sd.Instance != inst {
		return
	}
	want := ipvs.Backup
	if s == vrrp.StateMaster {
		want = ipvs.Master
	}
	if s == vrrp.StateStop {
		want = 0
	}
	cur := l.role
	l.role = want
	if cur == want {
		return
	}
	sdc := ipvs.SyncDaemon{Role: want, Interface: sd.Interface, MaxLen: uint16(sd.MaxLen), Group: sd.Group,
		Port: sd.Port, TTL: uint8(sd.TTL)}
	if sd.SyncID >= 0 {
		sdc.SyncID = uint8(sd.SyncID)
	}
	log := l.log
	l.worker.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if cur != 0 {
			if err := mgr.StopSyncDaemon(ctx, cur); err != nil {
				log.Warn("stop sync daemon", "role", cur.String(), "err", err)
			}
		}
		if want == 0 {
			return
		}
		if err := mgr.StartSyncDaemon(ctx, sdc); err != nil {
			log.Warn("start sync daemon", "role", want.String(), "err", err)
		}
	})
}

// close removes the watches and everything the manager added, and waits
// for the worker.
func (l *lvs) close() {
	for _, rm := range l.watches {
		rm()
	}
	l.watches, l.vss = nil, nil
	l.gen++
	if l.stopT != nil {
		l.stopT()
	}
	if mgr, role, log := l.mgr, l.role, l.log; mgr != nil {
		l.worker.push(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if role != 0 {
				_ = mgr.StopSyncDaemon(ctx, role)
			}
			cancel()
			if err := mgr.Close(); err != nil {
				log.Warn("ipvs close", "err", err)
			}
		})
	}
	l.worker.close()
}

// dump describes the desired services.
func (l *lvs) dump() []string {
	var out []string
	for _, v := range l.vss {
		svc := v.pol.Service()
		out = append(out, fmt.Sprintf("%s %s quorum_up=%v", v.name, svc.Scheduler, v.pol.QuorumUp()))
		for _, dst := range svc.Destinations {
			out = append(out, "  -> "+dst.String())
		}
	}
	return out
}
