package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"sort"
	"strconv"
	"sync"
	"syscall"
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
	log *slog.Logger
	opt options
	met *metrics
	mon *check.Monitor

	ctx    context.Context // lifetime of the daemon
	cancel context.CancelFunc
	bg     sync.WaitGroup // monitor, interface poller
	script sync.WaitGroup // notify scripts

	mu      sync.Mutex // guards the fields below; never taken by instance workers
	cfg     *config.Config
	conns   map[connKey]*connRef
	insts   map[string]*instance
	ifUp    map[string]bool
	lvs     *lvs
	static  *static
	bfd     *bfdRun
	pending map[string]int // instances that failed to start, with their attempt count
	closing bool
	start   time.Time

	fifoMu                  sync.Mutex // guards fifo and the default script user
	fifo                    *fifo
	scriptUser, scriptGroup string

	gmu         sync.Mutex // guards groups and memberState
	groups      map[string]*groupState
	memberState map[string]string
}

type connRef struct {
	conn *vrrp.Conn
	refs int
}

// groupState follows a sync group for its GROUP notifications.
type groupState struct {
	cfg     config.SyncGroup
	members []string
	state   string
}

func newDaemon(log *slog.Logger, opt options, met *metrics) *daemon {
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemon{
		log: log, opt: opt, met: met, ctx: ctx, cancel: cancel,
		conns: map[connKey]*connRef{}, insts: map[string]*instance{},
		pending: map[string]int{}, groups: map[string]*groupState{}, memberState: map[string]string{}, ifUp: map[string]bool{}, start: time.Now(),
	}
	d.mon = check.NewMonitor(check.MonitorConfig{Logger: log.With("component", "check")})
	d.bg.Go(func() { _ = d.mon.Run(ctx) })
	if opt.IfacePoll > 0 {
		d.bg.Go(d.pollInterfaces)
	}
	d.bg.Go(d.retryPending)
	d.bg.Go(d.pollProcesses)
	return d
}

// run applies cfg for the first time.
func (d *daemon) run(cfg *config.Config) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg = cfg
	d.openFifo(cfg)
	if d.opt.VRRP {
		d.applyStatic(cfg)
		d.applyBFD(cfg)
	}
	if d.opt.Check {
		d.lvs = newLVS(d)
	}
	if d.opt.VRRP {
		var names []string
		for i := range cfg.Instances {
			names = append(names, cfg.Instances[i].Name)
		}
		d.startInstances(cfg, names)
	}
	if d.lvs != nil {
		d.lvs.apply(cfg)
	}
}

// openFifo opens (or reopens) the notify FIFO named by cfg.
func (d *daemon) openFifo(cfg *config.Config) {
	d.fifoMu.Lock()
	defer d.fifoMu.Unlock()
	d.scriptUser, d.scriptGroup = cfg.Global.ScriptUser, cfg.Global.ScriptGroup
	path := cfg.Global.VRRPNotifyFifo.Script
	if path == "" {
		path = cfg.Global.NotifyFifo.Script
	}
	if d.fifo != nil && d.fifo.path == path {
		return
	}
	if d.fifo != nil {
		d.fifo.close()
		d.fifo = nil
	}
	if path == "" {
		return
	}
	f, err := openFifo(path)
	if err != nil {
		d.log.Error("notify_fifo", "path", path, "err", err)
		return
	}
	d.fifo = f
}

// startInstances builds, groups and starts the named instances of cfg.
// Called with d.mu held.
func (d *daemon) startInstances(cfg *config.Config, names []string) {
	var started []*instance
	for _, n := range names {
		in, _ := cfg.Instance(n)
		if in == nil {
			delete(d.pending, n)
			continue
		}
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
	// Sync groups whose members are all new.
	for gi := range cfg.SyncGroups {
		g := &cfg.SyncGroups[gi]
		var members []*vrrp.Instance
		all := true
		for _, m := range g.Group {
			i, ok := d.insts[m]
			if !ok || !contains(started, i) {
				all = false
				break
			}
			members = append(members, i.inst)
		}
		if !all || len(members) < 2 {
			if len(members) > 0 && !all {
				d.log.Warn("vrrp_sync_group: members not all running; not grouped", "group", g.Name)
			}
			continue
		}
		if _, err := vrrp.NewSyncGroup(members...); err != nil {
			d.log.Error("vrrp_sync_group", "group", g.Name, "err", err)
			continue
		}
		d.gmu.Lock()
		d.groups[g.Name] = &groupState{cfg: *g, members: g.Group}
		d.gmu.Unlock()
	}
	for _, i := range started {
		i.run()
	}
}

func contains(s []*instance, i *instance) bool {
	for _, x := range s {
		if x == i {
			return true
		}
	}
	return false
}

// conn returns the shared socket for k, opening it if needed. Called with
// d.mu held.
func (d *daemon) conn(k connKey) (*vrrp.Conn, error) {
	if r, ok := d.conns[k]; ok {
		r.refs++
		return r.conn, nil
	}
	c, err := vrrp.Listen(vrrp.ConnConfig{Interface: k.Iface, IPv6: k.IPv6, Source: k.Src, NetNS: d.opt.NetNS,
		Logger: d.log.With("iface", k.Iface)})
	if err != nil {
		return nil, err
	}
	d.conns[k] = &connRef{conn: c, refs: 1}
	return c, nil
}

// releaseConn drops a reference to the socket k. Called with d.mu held.
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

// reload parses path and applies the difference; on a parse error the
// running configuration is left untouched.
func (d *daemon) reload(path string) error {
	cfg, warns, err := config.ParseFile(path, config.Options{ConfigID: d.opt.ConfigID})
	for _, w := range warns {
		d.log.Warn("config", "msg", w.String())
	}
	if err != nil {
		logConfigError(d.log, err)
		// reload safety: a file with errors or structural problems is refused as a whole
		d.log.Error("reload refused; the running configuration is unchanged", "config", path, "structural_problems", len(config.Problems(err)))
		d.met.reloadRefused()
		d.met.reload(false)
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cfg
	plan := diffInstances(old, cfg)
	// A sync group moves as one: if any member is restarted or added, all
	// of its members are.
	plan = expandGroups(old, cfg, plan)
	var toStart []string
	for _, c := range plan {
		d.log.Info("reload", "instance", c.Name, "action", c.Kind.String())
		switch c.Kind {
		case changeRemove, changeRestart:
			if i := d.insts[c.Name]; i != nil {
				i.stop()
				delete(d.insts, c.Name)
			}
			if c.Kind == changeRestart {
				toStart = append(toStart, c.Name)
			}
		case changeAdd:
			toStart = append(toStart, c.Name)
		case changeUpdate:
			if i := d.insts[c.Name]; i != nil {
				in, _ := cfg.Instance(c.Name)
				if err := i.update(cfg, in); err != nil {
					d.log.Warn("update failed; restarting instance", "instance", c.Name, "err", err)
					i.stop()
					delete(d.insts, c.Name)
					toStart = append(toStart, c.Name)
				}
			} else {
				toStart = append(toStart, c.Name)
			}
		case changeKeep:
			if d.insts[c.Name] == nil {
				toStart = append(toStart, c.Name)
			}
		}
	}
	d.gmu.Lock()
	for name, g := range d.groups {
		if _, ok := cfg.SyncGroupOf(g.members[0]); !ok || d.insts[g.members[0]] == nil {
			delete(d.groups, name)
		}
	}
	d.gmu.Unlock()
	d.cfg = cfg
	d.openFifo(cfg)
	clear(d.pending)
	if d.opt.VRRP {
		d.applyStatic(cfg)
		d.applyBFD(cfg)
		d.startInstances(cfg, toStart)
	}
	if d.lvs != nil {
		d.lvs.apply(cfg)
	}
	d.met.reload(true)
	return nil
}

// expandGroups turns a restart or add of any sync group member into a
// restart of every member that keeps running.
func expandGroups(oldC, newC *config.Config, plan []change) []change {
	idx := map[string]int{}
	for i, c := range plan {
		idx[c.Name] = i
	}
	for gi := range newC.SyncGroups {
		g := &newC.SyncGroups[gi]
		restart := false
		for _, m := range g.Group {
			if i, ok := idx[m]; ok && (plan[i].Kind == changeRestart || plan[i].Kind == changeAdd) {
				restart = true
			}
		}
		if !restart {
			continue
		}
		for _, m := range g.Group {
			if i, ok := idx[m]; ok && (plan[i].Kind == changeKeep || plan[i].Kind == changeUpdate) {
				plan[i].Kind = changeRestart
			}
		}
	}
	return plan
}

// shutdown stops every instance and the LVS part, removing what they
// added, and waits for notify scripts.
func (d *daemon) shutdown() {
	d.mu.Lock()
	d.closing = true
	names := make([]string, 0, len(d.insts))
	for n := range d.insts {
		names = append(names, n)
	}
	sort.Strings(names)
	var wg sync.WaitGroup
	for _, n := range names {
		i := d.insts[n]
		wg.Go(i.stop)
	}
	wg.Wait()
	d.insts = map[string]*instance{}
	if d.lvs != nil {
		d.lvs.close()
	}
	d.stopBFD()
	if d.static != nil {
		if err := d.static.vm.Close(); err != nil {
			d.log.Warn("removing static addresses", "err", err)
		}
		d.static = nil
	}
	for k, r := range d.conns {
		r.conn.Close()
		delete(d.conns, k)
	}
	d.mu.Unlock()
	d.cancel()
	d.bg.Wait()
	d.script.Wait()
	d.fifoMu.Lock()
	if d.fifo != nil {
		d.fifo.close()
		d.fifo = nil
	}
	d.fifoMu.Unlock()
}

// runNotify runs the notify script n with extra arguments appended,
// without a shell, as n's user (or global_defs script_user), bounded by
// the script timeout; its process group is killed when the timeout passes.
func (d *daemon) runNotify(n config.Notify, extra []string, what string) {
	args := n.Args()
	if len(args) == 0 {
		return
	}
	args = append(args, extra...)
	usr, grp := n.User, n.Group
	if usr == "" {
		d.fifoMu.Lock()
		usr, grp = d.scriptUser, d.scriptGroup
		d.fifoMu.Unlock()
	}
	var cred *syscall.Credential
	if usr != "" {
		c, err := credential(usr, grp)
		if err != nil {
			d.log.Error("notify script not run", "script", args[0], "user", usr, "err", err)
			d.met.script(what, false)
			return
		}
		cred = c
	}
	d.script.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), d.opt.ScriptTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
		cmd.Cancel = func() error {
			if cmd.Process != nil {
				return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
			return nil
		}
		cmd.WaitDelay = time.Second
		err := cmd.Run()
		d.met.script(what, err == nil)
		if err != nil {
			d.log.Warn("notify script failed", "script", args[0], "what", what, "err", err)
			return
		}
		d.log.Debug("notify script done", "script", args[0], "what", what)
	})
}

// notifyFifo writes one line to the notify FIFO, if any. Called from
// instance workers (d.mu not held).
func (d *daemon) notifyFifo(line string) {
	d.fifoMu.Lock()
	defer d.fifoMu.Unlock()
	if d.fifo == nil {
		return
	}
	if err := d.fifo.write(line); err != nil {
		d.log.Warn("notify_fifo write", "err", err)
	}
}

// groupTransition reports a member's new state to its sync group, which
// notifies when every member is in that state.
func (d *daemon) groupTransition(member, state string) {
	d.gmu.Lock()
	d.memberState[member] = state
	var g *groupState
	for _, x := range d.groups {
		for _, m := range x.members {
			if m == member {
				g = x
			}
		}
	}
	if g == nil {
		d.gmu.Unlock()
		return
	}
	for _, m := range g.members {
		if d.memberState[m] != state {
			d.gmu.Unlock()
			return
		}
	}
	if g.state == state {
		d.gmu.Unlock()
		return
	}
	g.state = state
	cfg := g.cfg
	d.gmu.Unlock()
	d.log.Info("sync group transition", "group", cfg.Name, "state", state)
	d.notifyFifo(fifoLine("GROUP", cfg.Name, state, 0))
	var n config.Notify
	switch state {
	case "MASTER":
		n = cfg.NotifyMaster
	case "BACKUP":
		n = cfg.NotifyBackup
	case "FAULT":
		n = cfg.NotifyFault
	case "STOP":
		n = cfg.NotifyStop
	}
	d.runNotify(n, nil, "group_"+state)
	d.runNotify(cfg.Notify, notifyExtra("GROUP", cfg.Name, state, 0), "group_notify")
}

// ifaceUp reports whether an interface exists, is up and has carrier.
func ifaceUp(name string) bool {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return false
	}
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
}

// pollInterfaces follows the link state of tracked interfaces.
func (d *daemon) pollInterfaces() {
	d.every(d.opt.IfacePoll, func() {
		d.mu.Lock()
		names := map[string]bool{}
		for _, i := range d.insts {
			for _, n := range i.ifaces {
				names[n] = true
			}
		}
		for _, i := range d.insts {
			i.checkPriority()
		}
		for n := range names {
			up := ifaceUp(n)
			if old, ok := d.ifUp[n]; ok && old == up {
				continue
			}
			d.ifUp[n] = up
			for _, i := range d.insts {
				if i.tracksIface(n) {
					d.log.Info("tracked interface", "iface", n, "up", up, "instance", i.name)
					i.inst.SetTracked(trackIfacePrefix+n, up)
				}
			}
		}
		d.mu.Unlock()
	})
}

// retryPending retries the instances that failed to start (a missing
// interface, for example), as keepalived waits for interfaces.
func (d *daemon) retryPending() {
	d.every(2*time.Second, func() {
		d.mu.Lock()
		if len(d.pending) > 0 && d.cfg != nil && !d.closing {
			var names []string
			for n := range d.pending {
				names = append(names, n)
			}
			sort.Strings(names)
			d.startInstances(d.cfg, names)
		}
		d.mu.Unlock()
	})
}

// every calls f every period until the daemon's context ends.
func (d *daemon) every(period time.Duration, f func()) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-d.ctx.Done():
			return
		case <-t.C:
			f()
		}
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

// fifo is keepalived's notify_fifo: a named pipe (created if missing) or
// a regular file that receives one line per state change.
type fifo struct {
	path string
	mu   sync.Mutex
	f    *os.File
}

func openFifo(path string) (*fifo, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return nil, fmt.Errorf("mkfifo %s: %w", path, err)
		}
	}
	// O_RDWR on a FIFO never blocks on open, and writes do not fail
	// when no reader is present (they fill the pipe buffer, then
	// O_NONBLOCK makes them fail instead of blocking the daemon).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	return &fifo{path: path, f: f}, nil
}

func (f *fifo) write(line string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.f.WriteString(line)
	return err
}

func (f *fifo) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.f.Close()
}

// credential looks up a user (name or uid) and optional group (name or
// gid; default: the user's primary group).
func credential(usr, grp string) (*syscall.Credential, error) {
	u, err := user.Lookup(usr)
	if err != nil {
		if u, err = user.LookupId(usr); err != nil {
			return nil, err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gidS := u.Gid
	if grp != "" {
		g, err := user.LookupGroup(grp)
		if err != nil {
			if g, err = user.LookupGroupId(grp); err != nil {
				return nil, err
			}
		}
		gidS = g.Gid
	}
	gid, err := strconv.ParseUint(gidS, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
