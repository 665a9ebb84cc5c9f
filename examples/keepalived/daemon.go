package main

// This file owns the daemon's loop and its one code path, apply: start is
// apply(empty, cfg), reload apply(old, new) and stop apply(cfg, empty).
// Every field of the daemon below "owned by the loop" is read and written
// only by closures run on the loop goroutine; signals (main.go), pollers,
// monitor and BFD callbacks and instance transitions post closures to it.
// What blocks (instance stops waiting for their priority-0 advert and VIP
// removal) runs off the loop, which goes on serving pollers and dumps.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vrrp"
)

// options are the daemon's settings from the command line.
type options struct {
	ConfigFile    string
	ConfigID      string
	DumpDir       string
	JSONDump      string
	ScriptTimeout time.Duration
	IfacePoll     time.Duration
	VRRP, Check   bool // run the VRRP part, the LVS part
	NetNS         string
}

// daemon composes the suite's packages from a keepalived.conf.
type daemon struct {
	log  *slog.Logger
	opt  options
	sys  system
	met  *metrics
	mon  *check.Monitor
	loop *queue // runs every closure posted to the daemon, in order

	ctx     context.Context // lifetime of the daemon
	cancel  context.CancelFunc
	bg      sync.WaitGroup // monitor, process scans
	scripts sync.WaitGroup // notify scripts
	start   time.Time

	// Owned by the loop.
	cfg      *config.Config
	conns    map[connKey]*connRef
	insts    map[string]*instance
	pending  map[string]int // instances that failed to start, with their attempt count
	groups   map[string]*syncGroup
	sources  map[sourceKey]*source
	notify   *notifier
	lvs      *lvs
	static   *static
	bfd      *bfdRun
	applying bool // an apply waits for instance stops
	closing  bool
	tickers  []*ticker
}

// ticker is a periodic poller of the loop (see every).
type ticker struct{ stop func() bool }

type connRef struct {
	conn vrrpConn
	refs int
}

func newDaemon(log *slog.Logger, opt options, met *metrics) *daemon {
	return newDaemonSys(log, opt, met, realSystem(opt.NetNS))
}

// newDaemonSys returns a daemon on the system sys; it runs nothing until
// run.
func newDaemonSys(log *slog.Logger, opt options, met *metrics, sys system) *daemon {
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{
		log: log, opt: opt, met: met, sys: sys, ctx: ctx, cancel: cancel, loop: newQueue(),
		conns: map[connKey]*connRef{}, insts: map[string]*instance{}, pending: map[string]int{},
		groups: map[string]*syncGroup{}, sources: map[sourceKey]*source{}, start: sys.clock.Now(),
	}
	d.notify = &notifier{log: log, met: met, sys: sys, timeout: opt.ScriptTimeout, scripts: &d.scripts}
	d.mon = check.NewMonitor(check.MonitorConfig{Logger: log.With("component", "check"), Clock: sys.clock})
	d.bg.Go(func() { _ = d.mon.Run(ctx) })
	return d
}

// post runs f on the loop.
func (d *daemon) post(f func()) { d.loop.push(f) }

// call runs f on the loop and waits; f calls done when its work is
// complete (possibly from a later closure). After shutdown f does not run
// and call returns false at once.
func (d *daemon) call(f func(done func())) bool {
	ch := make(chan struct{})
	var once sync.Once
	if !d.loop.push(func() { f(func() { once.Do(func() { close(ch) }) }) }) {
		return false
	}
	<-ch
	return true
}

// every runs f on the loop every period until the daemon closes.
func (d *daemon) every(period time.Duration, f func()) {
	if period <= 0 {
		return
	}
	t := &ticker{}
	var arm func()
	arm = func() {
		t.stop = d.sys.clock.AfterFunc(period, func() {
			d.post(func() {
				if d.closing {
					return
				}
				f()
				arm()
			})
		})
	}
	arm()
	d.tickers = append(d.tickers, t)
}

// run applies cfg for the first time and starts the pollers.
func (d *daemon) run(cfg *config.Config) {
	d.call(func(done func()) {
		d.every(d.opt.IfacePoll, d.pollInterfaces)
		d.every(d.opt.IfacePoll, d.checkPriorities)
		d.every(2*time.Second, d.retryPending)
		d.every(500*time.Millisecond, d.scanProcesses)
		if d.opt.Check {
			d.lvs = newLVS(d.log, d.met, d.sys, d.mon, d.post, d.notify)
		}
		d.apply(nil, cfg, done)
	})
}

// reload parses path and applies the difference; on a parse error the
// running configuration is left untouched.
func (d *daemon) reload(path string) error {
	cfg, warns, err := config.ParseFile(path, config.Options{ConfigID: d.opt.ConfigID})
	for _, w := range warns {
		d.log.Warn("config", "msg", w.String())
	}
	if err != nil {
		// A file with errors or structural problems is refused as a whole.
		logConfigError(d.log, err)
		d.log.Error("reload refused; the running configuration is unchanged", "config", path, "structural_problems", len(config.Problems(err)))
		d.met.reloadRefused()
		d.met.reload(false)
		return err
	}
	d.call(func(done func()) {
		d.apply(d.cfg, cfg, func() {
			d.met.reload(true)
			done()
		})
	})
	return nil
}

// shutdown stops every instance and the LVS part, removing what they
// added, and waits for notify scripts.
func (d *daemon) shutdown() {
	d.call(func(done func()) {
		d.apply(d.cfg, nil, func() {
			d.closing = true
			for _, t := range d.tickers {
				t.stop()
			}
			if d.lvs != nil {
				d.lvs.close()
				d.lvs = nil
			}
			d.stopBFD()
			d.closeStatic()
			d.dropAllSources()
			for k, r := range d.conns {
				r.conn.Close()
				delete(d.conns, k)
			}
			done()
		})
	})
	d.cancel()
	d.bg.Wait()
	d.scripts.Wait()
	d.call(func(done func()) {
		d.notify.close()
		done()
	})
	d.loop.close()
}

// apply moves the running daemon from old to next (nil: nothing, the
// daemon stops), then calls done. Instances to stop (removed, restarted,
// or failing an update) stop off the loop, in parallel; what starts
// starts once they are stopped.
func (d *daemon) apply(old, next *config.Config, done func()) {
	isReload := old != nil && next != nil
	if old == nil {
		old = &config.Config{}
	}
	stopping := next == nil
	if stopping {
		next = &config.Config{}
	}
	d.applying = true
	var plan []change
	if d.opt.VRRP {
		plan = planReload(old, next)
	}
	var stops []*instance
	var toStart []string
	for _, c := range plan {
		if isReload {
			d.log.Info("reload", "instance", c.Name, "action", c.Kind.String())
		}
		i := d.insts[c.Name]
		switch c.Kind {
		case changeRemove, changeRestart:
			if i != nil {
				stops = append(stops, i)
				delete(d.insts, c.Name)
			}
			if c.Kind == changeRestart {
				toStart = append(toStart, c.Name)
			}
		case changeAdd:
			toStart = append(toStart, c.Name)
		case changeUpdate:
			if i == nil {
				toStart = append(toStart, c.Name)
				break
			}
			in, _ := next.Instance(c.Name)
			if err := i.update(next, in); err != nil {
				d.log.Warn("update failed; restarting instance", "instance", c.Name, "err", err)
				stops = append(stops, i)
				delete(d.insts, c.Name)
				toStart = append(toStart, c.Name)
				break
			}
			d.ensureSources(next, i.tracks)
			d.attachTracks(i)
		case changeKeep:
			if i == nil {
				toStart = append(toStart, c.Name)
			}
		}
	}
	d.publish()
	finish := func() {
		for _, i := range stops {
			d.releaseConn(i.key)
		}
		d.dropGroups(next)
		if stopping {
			d.applying = false
			done()
			return
		}
		d.cfg = next
		d.notify.configure(next)
		clear(d.pending)
		if d.opt.VRRP {
			d.applyStatic(next)
			d.applyBFD(next)
			d.startInstances(next, toStart)
		}
		d.pruneSources()
		if d.lvs != nil {
			d.lvs.apply(next)
		}
		d.publish()
		d.applying = false
		done()
	}
	if len(stops) == 0 {
		finish()
		return
	}
	go func() {
		var wg sync.WaitGroup
		for _, i := range stops {
			wg.Go(i.stop)
		}
		wg.Wait()
		d.post(finish)
	}()
}

// startInstances builds, groups and starts the named instances of cfg.
// On the loop.
func (d *daemon) startInstances(cfg *config.Config, names []string) {
	var started []*instance
	for _, n := range names {
		in, _ := cfg.Instance(n)
		if in == nil {
			delete(d.pending, n)
			continue
		}
		d.ensureSources(cfg, instanceTracks(cfg, in))
		i, err := d.newInstance(cfg, in)
		if err != nil {
			if d.pending[n] == 0 {
				d.log.Error("vrrp_instance not started; retrying every 2s", "instance", n, "err", err)
			} else {
				d.log.Debug("vrrp_instance still not started", "instance", n, "err", err)
			}
			d.pending[n]++
			continue
		}
		if d.pending[n] > 0 {
			d.log.Info("vrrp_instance started after retries", "instance", n, "attempts", d.pending[n])
		}
		delete(d.pending, n)
		d.insts[n] = i
		started = append(started, i)
	}
	d.formGroups(cfg, started)
	for _, i := range started {
		d.attachTracks(i)
		i.run()
	}
}

// retryPending retries the instances that failed to start (a missing
// interface, for example), as keepalived waits for interfaces.
func (d *daemon) retryPending() {
	if len(d.pending) == 0 || d.cfg == nil || d.applying {
		return
	}
	var names []string
	for n := range d.pending {
		names = append(names, n)
	}
	slices.Sort(names)
	d.startInstances(d.cfg, names)
	d.publish()
}

// scanProcesses reads the process table off the loop when processes are
// tracked, and hands the scan to the loop.
func (d *daemon) scanProcesses() {
	if !d.tracksProcesses() {
		return
	}
	d.bg.Go(func() {
		procs := d.sys.processes()
		now := d.sys.clock.Now()
		d.post(func() { d.pollProcesses(procs, now) })
	})
}

// instanceTransition notifies a transition the instance's worker has
// performed: FIFO line and scripts, sync group, LVS sync daemon. On the
// loop.
func (d *daemon) instanceTransition(i *instance, t vrrp.Transition) {
	i.state, i.since = t.To, d.sys.clock.Now()
	var n config.Notify
	switch t.To {
	case vrrp.StateMaster:
		n = i.cfg.NotifyMaster
	case vrrp.StateBackup:
		n = i.cfg.NotifyBackup
	case vrrp.StateFault:
		n = i.cfg.NotifyFault
	case vrrp.StateStop:
		n = i.cfg.NotifyStop
	default:
		return
	}
	state := t.To.String()
	d.notify.transition("INSTANCE", i.name, state, int(t.Priority), n, i.cfg.Notify, "notify_"+state, "notify")
	d.groupTransition(i.name, state)
	if d.lvs != nil {
		d.lvs.vrrpState(i.name, t.To)
	}
}

// checkPriorities reports changes of the effective priority with
// notify_priority_changes: a FIFO line and the notify script with the
// current state and the new priority.
func (d *daemon) checkPriorities() {
	for _, n := range d.instanceNames() {
		i := d.insts[n]
		if !i.cfg.NotifyPriorityChanges {
			continue
		}
		p := i.inst.Priority()
		if !i.priorityChanged(p) {
			continue
		}
		i.log.Info("priority changed", "priority", p)
		d.notify.line(fifoLine("INSTANCE", i.name, i.state.String(), int(p)))
		d.notify.run(i.cfg.Notify, notifyExtra("INSTANCE", i.name, i.state.String(), int(p)), "notify_priority")
	}
}

// instanceNames returns the running instances' names, sorted.
func (d *daemon) instanceNames() []string {
	names := make([]string, 0, len(d.insts))
	for n := range d.insts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// publish hands the running instances to the metrics collector.
func (d *daemon) publish() {
	var views []instanceView
	for _, n := range d.instanceNames() {
		i := d.insts[n]
		views = append(views, instanceView{name: n, iface: i.key.Iface, inst: i.inst})
	}
	d.met.publish(views)
}

// conn returns the shared socket for k, opening it if needed. On the loop.
func (d *daemon) conn(k connKey) (vrrpConn, error) {
	if r, ok := d.conns[k]; ok {
		r.refs++
		return r.conn, nil
	}
	c, err := d.sys.listenVRRP(vrrp.ConnConfig{Interface: k.Iface, IPv6: k.IPv6, Source: k.Src,
		Logger: d.log.With("iface", k.Iface)})
	if err != nil {
		return nil, err
	}
	d.conns[k] = &connRef{conn: c, refs: 1}
	return c, nil
}

// releaseConn drops a reference to the socket k. On the loop.
func (d *daemon) releaseConn(k connKey) {
	r, ok := d.conns[k]
	if !ok {
		return
	}
	r.refs--
	if r.refs <= 0 {
		r.conn.Close()
		delete(d.conns, k)
	}
}

// logConfigError logs every error of a configuration with its position.
func logConfigError(log *slog.Logger, err error) {
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			log.Error("config", "msg", fmt.Sprintf("%s: %s", e.Pos, e.Msg))
		}
		return
	}
	log.Error("config", "err", err)
}
