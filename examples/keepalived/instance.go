package main

// This file owns one running vrrp_instance: a vrrp.Instance on a shared
// socket, a VIP manager owning its addresses, routes and rules, and a
// worker that performs its transitions (vip.Controller.Apply of what
// MASTER owns, announcements) before it reports them to the daemon's loop.
// The loop owns the configuration, tracking and state fields; the worker
// owns the desired set; the VIP manager keeps what is installed.

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// instance is one running vrrp_instance.
type instance struct {
	name   string
	log    *slog.Logger
	met    *metrics
	key    connKey
	inst   *vrrp.Instance
	vm     vip.Controller
	q      *queue                // the worker: transitions and reconciliations, in order
	report func(vrrp.Transition) // hands a performed transition to the daemon's loop

	cancel  context.CancelFunc
	runDone chan struct{}

	// Owned by the daemon's loop.
	cfg         config.Instance
	vcfg        vrrp.Config
	tracks      []trackRef
	fileOffsets map[string]int // dynamic weights of byPriority track_files
	vips        []string       // desired addresses, for dumps
	state       vrrp.State
	since       time.Time
	lastPrio    uint8 // for notify_priority_changes

	// Owned by the worker.
	want   vip.Set // what MASTER owns
	master bool
}

// newInstance builds (but does not run) an instance of in. On the loop.
func (d *daemon) newInstance(cfg *config.Config, in *config.Instance) (*instance, error) {
	vc, err := vrrpConfig(cfg, in)
	if err != nil {
		return nil, err
	}
	i := &instance{
		name: in.Name, cfg: *in, met: d.met,
		log:         d.log.With("instance", in.Name, "vrid", in.VRID, "iface", in.Interface),
		fileOffsets: map[string]int{}, runDone: make(chan struct{}), since: d.sys.clock.Now(),
		tracks: instanceTracks(cfg, in),
	}
	i.want = i.desired(in)
	// Start at the base priority the known track_file weights give.
	for _, r := range i.tracks {
		if s, ok := d.sources[r.source()]; ok && r.byPriority && s.known && s.up {
			i.fileOffsets[r.key.name] = s.offset
		}
	}
	vc.Priority = uint8(effectiveBase(int(vc.Priority), i.fileOffsets))
	vm, err := d.sys.newVIP(vip.Config{Announce: announcePolicy(&cfg.Global, in), Logger: i.log})
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
			key.Src = d.sys.primaryIPv4(in.Interface)
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
	vc.Clock = d.sys.clock
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
	i.report = func(t vrrp.Transition) { d.post(func() { d.instanceTransition(i, t) }) }
	return i, nil
}

// desired computes the addresses, routes and rules to own while MASTER,
// and keeps their text for dumps.
func (i *instance) desired(in *config.Instance) vip.Set {
	var s vip.Set
	var errs, e []error
	s.Addresses, e = vipAddresses(in)
	errs = append(errs, e...)
	s.Routes, e = vipRoutes(in)
	errs = append(errs, e...)
	s.Rules, e = vipRules(in)
	errs = append(errs, e...)
	for _, err := range errs {
		i.log.Warn("virtual address/route/rule skipped", "err", err)
	}
	i.vips = i.vips[:0]
	for _, a := range s.Addresses {
		i.vips = append(i.vips, a.String())
	}
	return s
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
// transitions to be performed and removes what it added. It blocks, so
// the loop runs it on its own goroutine; the socket is the loop's to
// release afterwards.
func (i *instance) stop() {
	if i.cancel != nil {
		i.cancel()
		<-i.runDone
	}
	i.q.close()
	if err := i.vm.Close(); err != nil {
		i.log.Warn("removing addresses", "err", err)
	}
	i.log.Info("stopped")
}

// onTransition runs on the vrrp loop: hand the work to the worker.
func (i *instance) onTransition(t vrrp.Transition) {
	i.q.push(func() { i.perform(t) })
}

// perform carries out a transition on the worker: addresses and
// announcements, then the report to the loop (notifications).
func (i *instance) perform(t vrrp.Transition) {
	i.log.Debug("performing transition", "from", t.From.String(), "to", t.To.String(), "reason", t.Reason.String(), "priority", t.Priority)
	i.met.transition(i.name, t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if t.To == vrrp.StateMaster {
		i.master = true
		i.reconcile(ctx, true)
	} else {
		i.leaveMaster(ctx)
	}
	i.report(t)
}

// reconcile makes what the VIP manager owns the desired set while
// MASTER, and announces the addresses it added (every desired address it
// holds when announceAll). On the worker.
func (i *instance) reconcile(ctx context.Context, announceAll bool) {
	if !i.master {
		return
	}
	ch, err := i.vm.Apply(ctx, i.want)
	vipMetrics(i.met, ch, err)
	if err != nil {
		i.log.Error("applying addresses, routes and rules", "err", err)
	}
	held := map[vip.Address]bool{}
	if announceAll {
		for _, a := range i.vm.Owned() {
			held[a] = true
		}
	}
	for _, op := range append(slices.Clone(ch.Ops), ch.Present...) {
		if op.Kind == vip.OpAddAddress {
			held[op.Address] = true
		}
	}
	announce := map[string][]netip.Addr{}
	for _, a := range i.want.Addresses {
		if held[a] {
			announce[a.Interface] = append(announce[a.Interface], a.Prefix.Addr())
		}
	}
	for ifn, as := range announce {
		err := i.vm.Announce(ctx, ifn, as)
		i.met.vipOp("announce", err)
		if err != nil {
			i.log.Warn("announce", "iface", ifn, "err", err)
		}
	}
}

// leaveMaster removes everything the instance installed and stops its
// announcements. On the worker.
func (i *instance) leaveMaster(ctx context.Context) {
	wasMaster := i.master
	i.master = false
	owned := i.vm.OwnedSet()
	if !wasMaster && len(owned.Addresses)+len(owned.Routes)+len(owned.Rules) == 0 {
		return
	}
	ch, err := i.vm.Apply(ctx, vip.Set{})
	vipMetrics(i.met, ch, err)
	if err != nil {
		i.log.Error("removing addresses, routes and rules", "err", err)
	}
	ifaces := map[string]bool{}
	for _, a := range owned.Addresses {
		ifaces[a.Interface] = true
	}
	for ifn := range ifaces {
		i.vm.StopAnnounce(ifn)
	}
}

// vipMetrics counts the operations of a vip Apply, and its error.
func vipMetrics(met *metrics, ch vip.Changes, err error) {
	for _, op := range ch.Ops {
		met.vipOp(vipOpLabel[op.Kind], nil)
	}
	if err != nil {
		met.vipOp("apply", err)
	}
}

// vipOpLabel names the vip operations in metrics.
var vipOpLabel = map[vip.OpKind]string{
	vip.OpAddAddress: "add", vip.OpRemoveAddress: "remove", vip.OpAddRoute: "add_route",
	vip.OpRemoveRoute: "remove_route", vip.OpAddRule: "add_rule", vip.OpRemoveRule: "remove_rule",
}

// update applies a changed configuration to the running instance without
// a transition. On the loop.
func (i *instance) update(cfg *config.Config, in *config.Instance) error {
	vc, err := vrrpConfig(cfg, in)
	if err != nil {
		return err
	}
	tracks := instanceTracks(cfg, in)
	offsets := map[string]int{}
	for _, r := range tracks {
		if r.byPriority {
			offsets[r.key.name] = i.fileOffsets[r.key.name]
		}
	}
	vc.Source = i.vcfg.Source
	vc.Logger = i.vcfg.Logger
	vc.Clock = i.vcfg.Clock
	vc.OnTransition = i.onTransition
	vc.Priority = uint8(effectiveBase(int(vc.Priority), offsets))
	if err := i.inst.Update(vc); err != nil {
		return err
	}
	i.vcfg, i.cfg, i.tracks, i.fileOffsets = vc, *in, tracks, offsets
	want := i.desired(in)
	i.q.push(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		i.want = want
		i.reconcile(ctx, false)
	})
	i.log.Info("updated", "priority", vc.Priority, "advert_int", vc.AdvertInterval)
	return nil
}

// setSource applies the state of a tracked source to the instance. On
// the loop.
func (i *instance) setSource(r trackRef, s *source) {
	if !r.byPriority {
		i.inst.SetTracked(r.key.String(), s.up)
		return
	}
	off := 0
	if s.up {
		off = s.offset
	}
	name := r.key.name
	changed := i.fileOffsets[name] != off
	i.fileOffsets[name] = off
	p := effectiveBase(int(i.cfg.Priority), i.fileOffsets)
	if changed {
		i.log.Info("track_file weight", "file", name, "offset", off, "base_priority", p)
		i.inst.SetPriority(uint8(p))
	}
}

// effectiveBase is the configured priority moved by the dynamic weights
// of byPriority track_files (an owner's 255 never moves).
func effectiveBase(configured int, offsets map[string]int) int {
	if configured == 255 {
		return 255
	}
	p := configured
	for _, o := range offsets {
		p += o
	}
	return clamp(p, 1, 254)
}

// priorityChanged reports whether notify_priority_changes asks for a
// notification of the instance's current priority p. On the loop.
func (i *instance) priorityChanged(p uint8) bool {
	changed := i.cfg.NotifyPriorityChanges && i.lastPrio != 0 && p != i.lastPrio
	i.lastPrio = p
	return changed && (i.state == vrrp.StateMaster || i.state == vrrp.StateBackup)
}
