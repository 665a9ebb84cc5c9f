package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// instance is one running vrrp_instance: a vrrp.Instance on a shared
// socket, a vip.Manager owning its addresses, routes and rules, its
// tracked objects and a worker that performs its transitions.
type instance struct {
	d    *daemon
	name string
	log  *slog.Logger
	key  connKey
	inst *vrrp.Instance
	vm   *vip.Manager
	q    *queue

	cancel  context.CancelFunc
	runDone chan struct{}

	mu          sync.Mutex // guards the fields below
	cfg         config.Instance
	global      config.Global
	vcfg        vrrp.Config
	addrs       []vip.Address
	routes      []vip.Route
	rules       []vip.Rule
	installed   map[vip.Address]bool
	instRoutes  map[vip.Route]bool
	instRules   map[vip.Rule]bool
	master      bool
	state       vrrp.State
	since       time.Time
	watches     []func()
	fileOffsets map[string]int
	lastPrio    uint8    // for notify_priority_changes
	ifaces      []string // tracked interfaces (read under d.mu too: set before publication)
	procs       []string // tracked processes (likewise)
	bfds        []string // tracked bfd_instances (likewise)
}

// newInstance builds (but does not run) an instance. Called with d.mu held.
func (d *daemon) newInstance(cfg *config.Config, in *config.Instance) (*instance, error) {
	vc, err := vrrpConfig(cfg, in)
	if err != nil {
		return nil, err
	}
	i := &instance{
		d: d, name: in.Name, cfg: *in, global: cfg.Global,
		log:       d.log.With("instance", in.Name, "vrid", in.VRID, "iface", in.Interface),
		installed: map[vip.Address]bool{}, instRoutes: map[vip.Route]bool{}, instRules: map[vip.Rule]bool{},
		fileOffsets: map[string]int{}, runDone: make(chan struct{}), since: time.Now(),
	}
	i.setDesired(in)
	vm, err := vip.New(vip.Config{NetNS: d.opt.NetNS, Announce: announcePolicy(&cfg.Global, in), Logger: i.log})
	if err != nil {
		return nil, err
	}
	i.vm = vm
	key := instanceConnKey(in)
	if in.UseVMAC {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := vm.CreateVMAC(ctx, vip.VMAC{Name: vmacName(in), Parent: in.Interface, VRID: uint8(in.VRID), IPv6: in.IPv6()})
		cancel()
		if err != nil {
			vm.Close()
			return nil, fmt.Errorf("use_vmac: %w", err)
		}
		if key.Iface != in.Interface && !key.Src.IsValid() {
			// Adverts leave from the VMAC with the parent's address.
			key.Src = primaryIPv4(in.Interface)
		}
	}
	i.key = key
	conn, err := d.conn(key)
	if err != nil {
		vm.Close()
		return nil, fmt.Errorf("socket on %s: %w", key.Iface, err)
	}
	vc.Source = conn.Source()
	var tr vrrp.Transport
	if vc.AuthType == vrrp.AuthAH {
		tr, err = conn.TransportAH(vc.VRID, []byte(in.Auth.Pass))
	} else {
		tr, err = conn.Transport(vc.VRID)
	}
	if err != nil {
		d.releaseConn(key)
		vm.Close()
		return nil, err
	}
	vc.Logger = d.log.With("iface", in.Interface)
	vc.OnTransition = i.onTransition
	i.vcfg = vc
	i.inst, err = vrrp.New(vc, tr)
	if err != nil {
		vm.Close()
		tr.Close()
		d.releaseConn(key)
		return nil, err
	}
	i.q = newQueue()
	i.setTracking(cfg, in)
	return i, nil
}

// setDesired computes the addresses, routes and rules to own while MASTER.
func (i *instance) setDesired(in *config.Instance) {
	var errs []error
	var e []error
	i.addrs, e = vipAddresses(in)
	errs = append(errs, e...)
	i.routes, e = vipRoutes(in)
	errs = append(errs, e...)
	i.rules, e = vipRules(in)
	errs = append(errs, e...)
	for _, err := range errs {
		i.log.Warn("virtual address/route/rule skipped", "err", err)
	}
}

// run starts the vrrp instance.
func (i *instance) run() {
	ctx, cancel := context.WithCancel(context.Background())
	i.cancel = cancel
	i.log.Info("starting", "priority", i.vcfg.Priority, "advert_int", i.vcfg.AdvertInterval, "version", i.vcfg.Version, "src", i.vcfg.Source)
	go func() {
		defer close(i.runDone)
		_ = i.inst.Run(ctx)
	}()
}

// stop stops the instance (priority-0 advert if MASTER), waits for its
// transitions to be performed, removes what it added and releases its
// socket. Called with d.mu held.
func (i *instance) stop() {
	i.mu.Lock()
	w := i.watches
	i.watches = nil
	i.mu.Unlock()
	for _, rm := range w {
		rm()
	}
	if i.cancel != nil {
		i.cancel()
		<-i.runDone
	}
	i.q.close()
	if err := i.vm.Close(); err != nil {
		i.log.Warn("removing addresses", "err", err)
	}
	i.d.releaseConn(i.key)
	i.log.Info("stopped")
}

// onTransition runs on the vrrp loop: hand the work to the worker.
func (i *instance) onTransition(t vrrp.Transition) {
	i.q.push(func() { i.transition(t) })
}

// transition performs a transition: addresses, announcements, notify.
func (i *instance) transition(t vrrp.Transition) {
	i.log.Debug("performing transition", "from", t.From.String(), "to", t.To.String(), "reason", t.Reason.String(), "priority", t.Priority)
	i.d.met.transition(i.name, t)
	i.mu.Lock()
	i.state, i.since = t.To, time.Now()
	cfg := i.cfg
	i.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if t.To == vrrp.StateMaster {
		i.becomeMaster(ctx)
	} else {
		i.leaveMaster(ctx)
	}
	state := t.To.String()
	var n config.Notify
	switch t.To {
	case vrrp.StateMaster:
		n = cfg.NotifyMaster
	case vrrp.StateBackup:
		n = cfg.NotifyBackup
	case vrrp.StateFault:
		n = cfg.NotifyFault
	case vrrp.StateStop:
		n = cfg.NotifyStop
	default:
		return
	}
	i.d.notifyFifo(fifoLine("INSTANCE", i.name, state, int(t.Priority)))
	i.d.runNotify(n, nil, "notify_"+state)
	i.d.runNotify(cfg.Notify, notifyExtra("INSTANCE", i.name, state, int(t.Priority)), "notify")
	i.d.groupTransition(i.name, state)
	if i.d.lvs != nil {
		i.d.lvs.vrrpState(i.name, t.To)
	}
}

// becomeMaster installs every address, route and rule and announces the
// addresses.
func (i *instance) becomeMaster(ctx context.Context) {
	i.mu.Lock()
	i.master = true
	i.mu.Unlock()
	i.reconcile(ctx, true)
}

// reconcile makes the installed addresses, routes and rules equal to the
// desired ones while MASTER, and announces new addresses (all of them
// when announceAll).
func (i *instance) reconcile(ctx context.Context, announceAll bool) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.master {
		return
	}
	prune(i.installed, i.addrs, func(a vip.Address) {
		i.d.met.vipOp("remove", i.vm.Remove(ctx, a))
	})
	announce := map[string][]netip.Addr{}
	install(i.installed, i.addrs, func(a vip.Address) error {
		err := i.vm.Add(ctx, a)
		i.d.met.vipOp("add", err)
		if err != nil {
			i.log.Error("adding address", "addr", a.String(), "err", err)
		} else if !announceAll {
			announce[a.Interface] = append(announce[a.Interface], a.Prefix.Addr())
		}
		return err
	})
	if announceAll {
		for _, a := range i.addrs {
			if i.installed[a] {
				announce[a.Interface] = append(announce[a.Interface], a.Prefix.Addr())
			}
		}
	}
	prune(i.instRoutes, i.routes, func(r vip.Route) {
		i.d.met.vipOp("remove_route", i.vm.RemoveRoute(ctx, r))
	})
	install(i.instRoutes, i.routes, func(r vip.Route) error {
		err := i.vm.AddRoute(ctx, r)
		i.d.met.vipOp("add_route", err)
		if err != nil {
			i.log.Error("adding route", "route", r.String(), "err", err)
		}
		return err
	})
	prune(i.instRules, i.rules, func(r vip.Rule) {
		i.d.met.vipOp("remove_rule", i.vm.RemoveRule(ctx, r))
	})
	install(i.instRules, i.rules, func(r vip.Rule) error {
		err := i.vm.AddRule(ctx, r)
		i.d.met.vipOp("add_rule", err)
		if err != nil {
			i.log.Error("adding rule", "rule", r.String(), "err", err)
		}
		return err
	})
	for ifn, as := range announce {
		err := i.vm.Announce(ctx, ifn, as)
		i.d.met.vipOp("announce", err)
		if err != nil {
			i.log.Warn("announce", "iface", ifn, "err", err)
		}
	}
}

// leaveMaster removes everything the instance installed.
func (i *instance) leaveMaster(ctx context.Context) {
	i.mu.Lock()
	defer i.mu.Unlock()
	wasMaster := i.master
	i.master = false
	if !wasMaster && len(i.installed) == 0 {
		return
	}
	ifaces := map[string]bool{}
	for r := range i.instRules {
		i.d.met.vipOp("remove_rule", logErr(i.log, "removing rule", i.vm.RemoveRule(ctx, r)))
	}
	for r := range i.instRoutes {
		i.d.met.vipOp("remove_route", logErr(i.log, "removing route", i.vm.RemoveRoute(ctx, r)))
	}
	for a := range i.installed {
		ifaces[a.Interface] = true
		i.d.met.vipOp("remove", logErr(i.log, "removing address", i.vm.Remove(ctx, a)))
	}
	for ifn := range ifaces {
		i.vm.StopAnnounce(ifn)
	}
	clear(i.installed)
	clear(i.instRoutes)
	clear(i.instRules)
}

// update applies a changed configuration to the running instance without
// a transition. Called with d.mu held.
func (i *instance) update(cfg *config.Config, in *config.Instance) error {
	vc, err := vrrpConfig(cfg, in)
	if err != nil {
		return err
	}
	i.mu.Lock()
	vc.Source = i.vcfg.Source
	vc.Logger = i.vcfg.Logger
	vc.OnTransition = i.onTransition
	vc.Priority = uint8(i.effectiveBase(int(vc.Priority)))
	i.mu.Unlock()
	if err := i.inst.Update(vc); err != nil {
		return err
	}
	i.mu.Lock()
	i.vcfg = vc
	i.cfg = *in
	i.global = cfg.Global
	i.setDesired(in)
	i.mu.Unlock()
	old := i.takeWatches()
	i.setTracking(cfg, in)
	for _, rm := range old {
		rm()
	}
	i.q.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		i.reconcile(ctx, false)
	})
	i.log.Info("updated", "priority", vc.Priority, "advert_int", vc.AdvertInterval)
	return nil
}

func (i *instance) takeWatches() []func() {
	i.mu.Lock()
	defer i.mu.Unlock()
	w := i.watches
	i.watches = nil
	return w
}

// effectiveBase is the base priority with the dynamic offsets of weighted
// track_files. Called with i.mu held.
func (i *instance) effectiveBase(configured int) int {
	if configured == 255 {
		return 255
	}
	p := configured
	for _, o := range i.fileOffsets {
		p += o
	}
	return clamp(p, 1, 254)
}

// tracksIface reports whether the instance tracks interface n.
func (i *instance) tracksIface(n string) bool {
	for _, x := range i.ifaces {
		if x == n {
			return true
		}
	}
	return false
}

// setTracking subscribes the instance's tracked scripts and files to the
// daemon's monitor and records its tracked interfaces.
func (i *instance) setTracking(cfg *config.Config, in *config.Instance) {
	var ws []func()
	var ifaces, procs, bfds []string
	for _, o := range trackedObjects(cfg, in) {
		if n, ok := strings.CutPrefix(o.Name, trackBFDPrefix); ok {
			bfds = append(bfds, n)
		}
		if n, ok := strings.CutPrefix(o.Name, trackProcessPrefix); ok {
			procs = append(procs, n)
			if tp, ok := cfg.TrackProcess(n); ok {
				i.inst.SetTracked(o.Name, processUp(tp, countProcesses(tp)))
			}
		}
		if len(o.Name) > len(trackIfacePrefix) && o.Name[:len(trackIfacePrefix)] == trackIfacePrefix {
			n := o.Name[len(trackIfacePrefix):]
			ifaces = append(ifaces, n)
			i.inst.SetTracked(o.Name, ifaceUp(n))
		}
	}
	sg, _ := cfg.SyncGroupOf(in.Name)
	scripts := append(append([]config.Track(nil), in.TrackScripts...), groupTracks(sg, true)...)
	for _, t := range scripts {
		s, ok := cfg.Script(t.Name)
		if !ok {
			continue
		}
		args := config.SplitCommand(s.Script)
		if len(args) == 0 {
			continue
		}
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = s.Interval
		}
		name := trackScriptPrefix + t.Name
		rm, err := i.d.mon.Add(check.Watch{
			Checker: &check.Script{Path: args[0], Args: args[1:], User: s.User, Group: s.Group,
				Security: cfg.Global.EnableScriptSecurity},
			Policy: check.Policy{Interval: s.Interval, Timeout: timeout, Rise: s.Rise, Fall: s.Fall, Alpha: s.InitFail},
			Name:   "vrrp_script " + t.Name,
			OnTransition: func(tr check.Transition) {
				up := tr.To == check.StateUp
				i.d.met.checkResult("vrrp_script", t.Name, up)
				if tr.Cause != check.CauseInitial || !up {
					i.log.Info("vrrp_script", "script", t.Name, "up", up, "cause", tr.Cause)
				}
				i.inst.SetTracked(name, up)
			},
		})
		if err != nil {
			i.log.Error("vrrp_script", "script", t.Name, "err", err)
			continue
		}
		ws = append(ws, rm)
	}
	files := append(append([]config.Track(nil), in.TrackFiles...), groupTracks(sg, false)...)
	for _, t := range files {
		f, ok := cfg.TrackFile(t.Name)
		if !ok {
			continue
		}
		initTrackFile(f, i.log)
		w, rev := fileWeight(f, t)
		tname := t.Name
		rm, err := i.d.mon.Add(check.Watch{
			Checker: check.File{Path: f.File, Weight: w, Reverse: rev},
			Policy:  check.Policy{Interval: 500 * time.Millisecond, Timeout: time.Second},
			Name:    "track_file " + t.Name,
			OnTransition: func(tr check.Transition) {
				up := tr.To == check.StateUp
				i.d.met.checkResult("track_file", tname, up)
				if w == 0 {
					i.inst.SetTracked(trackFilePrefix+tname, up)
					return
				}
				off := 0
				if up && tr.Dynamic {
					off = tr.Weight
				}
				i.mu.Lock()
				changed := i.fileOffsets[tname] != off
				i.fileOffsets[tname] = off
				p := i.effectiveBase(int(i.cfg.Priority))
				i.mu.Unlock()
				if changed {
					i.log.Info("track_file weight", "file", tname, "offset", off, "base_priority", p)
					i.inst.SetPriority(uint8(p))
				}
			},
		})
		if err != nil {
			i.log.Error("track_file", "file", t.Name, "err", err)
			continue
		}
		ws = append(ws, rm)
	}
	i.mu.Lock()
	i.watches = append(i.watches, ws...)
	i.mu.Unlock()
	i.ifaces = ifaces
	i.procs = procs
	i.bfds = bfds
}

// initTrackFile creates a track_file with its init value (init_file).
func initTrackFile(f *config.TrackFile, log *slog.Logger) {
	if !f.InitFile {
		return
	}
	if _, err := os.Stat(f.File); err == nil && !f.Overwrite {
		return
	}
	if err := os.WriteFile(f.File, []byte(strconv.Itoa(f.InitValue)+"\n"), 0o644); err != nil {
		log.Warn("track_file init_file", "file", f.File, "err", err)
	}
}

// logErr logs err, if any, and returns it.
func logErr(log *slog.Logger, msg string, err error) error {
	if err != nil {
		log.Error(msg, "err", err)
	}
	return err
}

// primaryIPv4 returns the first IPv4 address of an interface, or the zero
// address.
func primaryIPv4(name string) netip.Addr {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok && n.IP.To4() != nil {
				return ip
			}
		}
	}
	return netip.Addr{}
}

// checkPriority reports a change of the effective priority with
// notify_priority_changes: a FIFO line and the notify script with the
// current state and the new priority. Called on the poll tick.
func (i *instance) checkPriority() {
	p := i.inst.Priority()
	i.mu.Lock()
	changed := i.cfg.NotifyPriorityChanges && i.lastPrio != 0 && p != i.lastPrio
	i.lastPrio = p
	state, notify := i.state, i.cfg.Notify
	i.mu.Unlock()
	if !changed || (state != vrrp.StateMaster && state != vrrp.StateBackup) {
		return
	}
	i.q.push(func() {
		i.log.Info("priority changed", "priority", p)
		i.d.notifyFifo(fifoLine("INSTANCE", i.name, state.String(), int(p)))
		i.d.runNotify(notify, notifyExtra("INSTANCE", i.name, state.String(), int(p)), "notify_priority")
	})
}
