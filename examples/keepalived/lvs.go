package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/vrrp"
)

// lvs runs the virtual servers: check.Monitor watches feed one
// ipvs.Policy per virtual server, and a worker applies the union of their
// desired services with ipvs.Manager.Apply.
type lvs struct {
	d   *daemon
	log *slog.Logger
	mgr *ipvs.Manager // nil when IPVS is unavailable

	mu      sync.Mutex
	vss     []*vsRun
	watches []func()
	sync    *config.LVSSyncDaemon
	role    ipvs.Role

	dirty  chan struct{}
	stop   chan struct{}
	done   chan struct{}
	noIPVS bool
}

// vsRun is one virtual server: its policy and the keys it expands to.
type vsRun struct {
	name string
	pol  *ipvs.Policy
	keys []ipvs.ServiceKey // group expansion; empty: the policy's own key
}

func newLVS(d *daemon) *lvs {
	l := &lvs{d: d, log: d.log.With("component", "lvs"), dirty: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	go l.worker()
	return l
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
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		l.noIPVS = true
		l.log.Error("IPVS is not available (no /proc/net/ip_vs: load the ip_vs module); virtual servers are ignored, VRRP keeps running")
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := ipvs.Dial(ctx, ipvs.Config{Logger: l.log, NetNS: l.d.opt.NetNS})
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
	var vss []*vsRun
	var ws []func()
	for i := range cfg.VirtualServers {
		vs := &cfg.VirtualServers[i]
		run, err := buildVS(cfg, vs, l.d)
		if err != nil {
			l.log.Error("virtual_server skipped", "vs", vs.String(), "err", err)
			continue
		}
		vss = append(vss, run)
		for ri := range vs.RealServers {
			rs := &vs.RealServers[ri]
			addr := netip.AddrPortFrom(rs.Addr, rs.Port)
			for ci := range rs.Checkers {
				c := &rs.Checkers[ci]
				name := checkerName(ci, c)
				checker, err := buildChecker(cfg, vs, rs, c)
				if err != nil {
					l.log.Error("checker skipped; real server considered up", "vs", vs.String(), "rs", addr.String(), "checker", string(c.Kind), "err", err)
					l.mu.Lock()
					run.pol.Set(addr, name, true)
					l.mu.Unlock()
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
				rm, err := l.d.mon.Add(check.Watch{
					Checker: checker,
					Policy: check.Policy{Interval: c.DelayLoop, Timeout: timeout, Retry: c.Retry,
						DelayBeforeRetry: c.DelayBeforeRetry, Warmup: c.Warmup, Alpha: alpha},
					Name: label,
					OnTransition: func(tr check.Transition) {
						up := tr.To == check.StateUp
						l.d.met.checkResult(string(c.Kind), label, up)
						if tr.Cause != check.CauseInitial {
							l.log.Info("checker", "target", label, "up", up, "cause", tr.Cause, "err", tr.Err)
						}
						l.mu.Lock()
						run.pol.Set(addr, name, up)
						if up && tr.Dynamic {
							run.pol.SetWeight(addr, tr.Weight)
						}
						l.mu.Unlock()
						l.kick()
					},
				})
				if err != nil {
					l.log.Error("checker", "target", label, "err", err)
					continue
				}
				ws = append(ws, rm)
			}
		}
	}
	l.mu.Lock()
	old := l.watches
	l.vss, l.watches = vss, ws
	l.sync = cfg.Global.LVSSyncDaemon
	l.mu.Unlock()
	for _, rm := range old {
		rm()
	}
	l.kick()
}

func (l *lvs) kick() {
	select {
	case l.dirty <- struct{}{}:
	default:
	}
}

// worker applies the desired state after every change, coalescing bursts.
func (l *lvs) worker() {
	defer close(l.done)
	for {
		select {
		case <-l.stop:
			return
		case <-l.dirty:
		}
		// Coalesce bursts (a reload delivers every checker's current state
		// right after the new policies start) before touching the kernel.
		select {
		case <-l.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		select {
		case <-l.dirty:
		default:
		}
		l.mu.Lock()
		var st ipvs.State
		for _, v := range l.vss {
			svc := v.pol.Service()
			if len(v.keys) == 0 {
				st.Services = append(st.Services, svc)
				continue
			}
			st.Services = append(st.Services, ipvs.Group{Name: v.name, Keys: v.keys}.Expand(svc)...)
		}
		mgr := l.mgr
		l.mu.Unlock()
		if mgr == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		ch, err := mgr.Apply(ctx, st)
		cancel()
		for _, k := range []ipvs.OpKind{ipvs.AddService, ipvs.UpdateService, ipvs.DeleteService,
			ipvs.AddDestination, ipvs.UpdateDestination, ipvs.DeleteDestination, ipvs.SetTimeouts} {
			l.d.met.ipvsOp(k.String(), ch.Count(k))
		}
		if err != nil {
			l.log.Error("ipvs apply", "err", err)
		} else if len(ch.Ops) > 0 {
			l.log.Info("ipvs applied", "ops", len(ch.Ops))
		}
	}
}

// vrrpState starts or stops the IPVS sync daemon following the VRRP
// instance named in lvs_sync_daemon: master role while MASTER, backup
// role otherwise.
func (l *lvs) vrrpState(inst string, s vrrp.State) {
	l.mu.Lock()
	sd := l.sync
	mgr := l.mgr
	l.mu.Unlock()
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
	l.mu.Lock()
	cur := l.role
	l.role = want
	l.mu.Unlock()
	if cur == want {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if cur != 0 {
		if err := mgr.StopSyncDaemon(ctx, cur); err != nil {
			l.log.Warn("stop sync daemon", "role", cur.String(), "err", err)
		}
	}
	if want == 0 {
		return
	}
	d := ipvs.SyncDaemon{Role: want, Interface: sd.Interface, MaxLen: uint16(sd.MaxLen), Group: sd.Group,
		Port: sd.Port, TTL: uint8(sd.TTL)}
	if sd.SyncID >= 0 {
		d.SyncID = uint8(sd.SyncID)
	}
	if err := mgr.StartSyncDaemon(ctx, d); err != nil {
		l.log.Warn("start sync daemon", "role", want.String(), "err", err)
	}
}

// close removes the watches and everything the manager added.
func (l *lvs) close() {
	l.mu.Lock()
	w := l.watches
	l.watches = nil
	l.mu.Unlock()
	for _, rm := range w {
		rm()
	}
	close(l.stop)
	<-l.done
	if l.mgr != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if l.role != 0 {
			_ = l.mgr.StopSyncDaemon(ctx, l.role)
		}
		cancel()
		if err := l.mgr.Close(); err != nil {
			l.log.Warn("ipvs close", "err", err)
		}
	}
}

// dump describes the desired services.
func (l *lvs) dump() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
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

func checkerName(i int, c *config.Checker) string {
	return string(c.Kind) + "#" + strconv.Itoa(i)
}

// forward maps lvs_method to an ipvs forwarding method.
func forward(m string) (ipvs.Forward, error) {
	switch strings.ToUpper(m) {
	case "", "NAT":
		return ipvs.NAT, nil
	case "DR":
		return ipvs.Route, nil
	case "TUN":
		return ipvs.Tunnel, nil
	}
	return 0, fmt.Errorf("unknown lvs_method %q", m)
}

func protocol(p string) ipvs.Protocol {
	switch strings.ToUpper(p) {
	case "UDP":
		return ipvs.UDP
	case "SCTP":
		return ipvs.SCTP
	}
	return ipvs.TCP
}

// serviceTemplate builds the ipvs.Service of a virtual server (key,
// scheduler, flags, persistence) and the keys of its group.
func serviceTemplate(c *config.Config, vs *config.VirtualServer) (ipvs.Service, []ipvs.ServiceKey, error) {
	var svc ipvs.Service
	var keys []ipvs.ServiceKey
	proto := protocol(vs.Protocol)
	fam := ipvs.IPv4
	if vs.IPFamily == "inet6" {
		fam = ipvs.IPv6
	}
	switch {
	case vs.Group != "":
		g, ok := c.VirtualServerGroup(vs.Group)
		if !ok {
			return svc, nil, fmt.Errorf("unknown virtual_server_group %q", vs.Group)
		}
		for _, e := range g.Entries {
			if e.FWMark != 0 {
				f := fam
				if e.Family == "inet6" {
					f = ipvs.IPv6
				}
				keys = append(keys, ipvs.FWMarkService(f, e.FWMark))
				continue
			}
			ks, err := ipvs.AddrRange(proto, e.First, e.Last, e.Port)
			if err != nil {
				return svc, nil, err
			}
			keys = append(keys, ks...)
		}
		if len(keys) == 0 {
			return svc, nil, fmt.Errorf("virtual_server_group %q is empty", vs.Group)
		}
		svc.Key = keys[0]
	case vs.FWMark != 0:
		svc.Key = ipvs.FWMarkService(fam, vs.FWMark)
	default:
		ap := netip.AddrPortFrom(vs.Addr, vs.Port)
		switch proto {
		case ipvs.UDP:
			svc.Key = ipvs.UDPService(ap)
		case ipvs.SCTP:
			svc.Key = ipvs.SCTPService(ap)
		default:
			svc.Key = ipvs.TCPService(ap)
		}
	}
	svc.Scheduler = ipvs.Scheduler(vs.Scheduler)
	if svc.Scheduler == "" {
		svc.Scheduler = ipvs.WLC
	}
	for _, f := range vs.Flags {
		switch f {
		case "ops":
			svc.Flags |= ipvs.OnePacket
		case "sh-fallback", "flag-1":
			svc.Flags |= ipvs.SHFallback
		case "sh-port", "flag-2":
			svc.Flags |= ipvs.SHPort
		case "mh-fallback":
			svc.Flags |= ipvs.MHFallback
		case "mh-port":
			svc.Flags |= ipvs.MHPort
		}
	}
	if vs.Persistence || vs.PersistenceTimeout > 0 {
		svc.Persistence = ipvs.Persistence{Timeout: vs.PersistenceTimeout, Engine: vs.PersistenceEngine}
		if vs.PersistenceGranularity != "" {
			svc.Persistence.Netmask = maskBits(vs.PersistenceGranularity)
		}
	}
	return svc, keys, nil
}

// maskBits converts a persistence_granularity (dotted mask or prefix
// length) to a prefix length.
func maskBits(s string) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		b := a.As4()
		n := 0
		for _, x := range b {
			for i := 7; i >= 0; i-- {
				if x&(1<<i) != 0 {
					n++
				}
			}
		}
		return n
	}
	return 0
}

// destination builds the ipvs.Destination of a real server.
func destination(vs *config.VirtualServer, rs *config.RealServer) (ipvs.Destination, error) {
	m := rs.Method
	if m == "" {
		m = vs.Method
	}
	f, err := forward(m)
	if err != nil {
		return ipvs.Destination{}, err
	}
	return ipvs.Destination{Addr: netip.AddrPortFrom(rs.Addr, rs.Port), Weight: rs.Weight, Forward: f,
		UpperThreshold: uint32(max(rs.UThreshold, 0)), LowerThreshold: uint32(max(rs.LThreshold, 0))}, nil
}

// buildVS builds the policy of a virtual server, with hooks running the
// quorum and real server notify scripts.
func buildVS(c *config.Config, vs *config.VirtualServer, d *daemon) (*vsRun, error) {
	svc, keys, err := serviceTemplate(c, vs)
	if err != nil {
		return nil, err
	}
	pv := ipvs.VirtualServer{Service: svc, Quorum: vs.Quorum, Hysteresis: vs.Hysteresis,
		SorryServerInhibit: vs.SorryServerInhibit, Alpha: vs.Alpha, Omega: vs.Omega}
	notes := map[netip.AddrPort]*config.RealServer{}
	for i := range vs.RealServers {
		rs := &vs.RealServers[i]
		dst, err := destination(vs, rs)
		if err != nil {
			return nil, err
		}
		var names []string
		for ci := range rs.Checkers {
			names = append(names, checkerName(ci, &rs.Checkers[ci]))
		}
		pv.RealServers = append(pv.RealServers, ipvs.RealServer{Destination: dst,
			InhibitOnFailure: rs.InhibitOnFailure || vs.InhibitOnFailure, Checkers: names})
		notes[dst.Addr] = rs
	}
	if vs.SorryServer != nil {
		dst, err := destination(vs, vs.SorryServer)
		if err != nil {
			return nil, err
		}
		pv.SorryServer = &dst
	}
	name := vs.String()
	pv.OnQuorumUp = func() { d.runNotify(vs.QuorumUp, nil, "quorum_up") }
	pv.OnQuorumDown = func() { d.runNotify(vs.QuorumDown, nil, "quorum_down") }
	pv.OnRealServerUp = func(a netip.AddrPort) {
		if rs := notes[a]; rs != nil {
			d.runNotify(rs.NotifyUp, nil, "notify_up")
		}
	}
	pv.OnRealServerDown = func(a netip.AddrPort) {
		if rs := notes[a]; rs != nil {
			d.runNotify(rs.NotifyDown, nil, "notify_down")
		}
	}
	pol, err := ipvs.NewPolicy(pv)
	if err != nil {
		return nil, err
	}
	return &vsRun{name: name, pol: pol, keys: keys}, nil
}

// buildChecker translates a checker block into a check.Checker.
func buildChecker(c *config.Config, vs *config.VirtualServer, rs *config.RealServer, ck *config.Checker) (check.Checker, error) {
	ip := ck.ConnectIP
	if !ip.IsValid() {
		ip = rs.Addr
	}
	port := ck.ConnectPort
	if port == 0 {
		port = rs.Port
	}
	addr := netip.AddrPortFrom(ip, port)
	var bind netip.AddrPort
	if ck.BindTo.IsValid() {
		bind = netip.AddrPortFrom(ck.BindTo, ck.BindPort)
	}
	switch ck.Kind {
	case config.TCPCheck:
		return check.TCP{Addr: addr, Bind: bind, Interface: ck.BindIf}, nil
	case config.HTTPGet, config.SSLGet:
		var all check.All
		for _, u := range ck.URLs {
			h := &check.HTTP{Addr: addr, Path: u.Path, Digest: u.Digest, RegexNoMatch: u.RegexNoMatch,
				HTTP11: ck.HTTPProtocol == "1.1", Bind: bind, Interface: ck.BindIf}
			h.Host = firstNonEmpty(u.VirtualHost, ck.VirtualHost, rs.VirtualHost, vs.VirtualHost)
			for _, r := range u.StatusCodes {
				h.Status = append(h.Status, check.StatusRange{Min: r.Lo, Max: r.Hi})
			}
			if u.Regex != "" {
				re, err := regexp.Compile(u.Regex)
				if err != nil {
					return nil, fmt.Errorf("regex: %w", err)
				}
				h.Regex = re
			}
			if ck.Kind == config.SSLGet {
				// As keepalived without an SSL ca: the server is not verified.
				tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // keepalived semantics
				if ck.EnableSNI && h.Host != "" {
					tc.ServerName = h.Host
				}
				h.TLS = tc
			}
			all = append(all, h)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("%s without url", ck.Kind)
		}
		if len(all) == 1 {
			return all[0], nil
		}
		return all, nil
	case config.SMTPCheck:
		return check.SMTP{Addr: addr, HeloName: ck.HeloName, Bind: bind, Interface: ck.BindIf}, nil
	case config.DNSCheck:
		t, ok := dns.StringToType[strings.ToUpper(ck.DNSType)]
		if !ok {
			return nil, fmt.Errorf("unknown DNS type %q", ck.DNSType)
		}
		return &check.DNS{Server: addr, Name: ck.DNSName, Type: t, Bind: bind, Interface: ck.BindIf}, nil
	case config.UDPCheck:
		return &check.UDP{Addr: addr, Payload: ck.Payload, RequireReply: ck.RequireReply, Expect: ck.ReplyData,
			Bind: bind, Interface: ck.BindIf}, nil
	case config.PingCheck:
		return check.ICMP{Addr: ip, Privileged: os.Geteuid() == 0}, nil
	case config.MiscCheck:
		args := config.SplitCommand(ck.MiscPath)
		if len(args) == 0 {
			return nil, fmt.Errorf("MISC_CHECK without misc_path")
		}
		return &check.Script{Path: args[0], Args: args[1:], Dynamic: ck.MiscDynamic, User: ck.User, Group: ck.Group,
			Security: c.Global.EnableScriptSecurity}, nil
	case config.FileCheck:
		f, ok := c.TrackFile(ck.TrackFile)
		if !ok {
			return nil, fmt.Errorf("unknown track_file %q", ck.TrackFile)
		}
		w, rev := f.Weight, f.Reverse
		if ck.Weight != 0 || ck.Reverse {
			w, rev = ck.Weight, ck.Reverse
		}
		return check.File{Path: f.File, Weight: w, Reverse: rev}, nil
	}
	return nil, fmt.Errorf("%s not supported", ck.Kind)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
