package main

// This file holds the fake system the daemon's non-root tests run on:
// VRRP sockets on a vrrptest.Network, in-memory VIP managers that log
// every operation, an ipvstest kernel, BFD on a bfdtest.Network, a link
// table, a process table and a script runner that records what it starts.
// Use it inside a testing/synctest bubble: time is then virtual.

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/ipvstest"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vip/viptest"
	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// fakeSys is the state behind a fake system.
type fakeSys struct {
	vrrpNet *vrrptest.Network
	kernel  *ipvstest.Kernel
	bfdNet  *bfdtest.Network
	bfdAddr netip.Addr // the daemon's BFD address

	mu         sync.Mutex
	addrs      map[string]netip.Addr // interface → primary address
	links      map[string]bool       // interface → up
	procs      []procInfo
	noIPVS     bool
	listenErr  map[string]error // interface → vrrp listen error
	ops        []string         // VIP operations, in order
	vips       []*fakeVIP
	holdRemove chan struct{} // if set, an Apply that removes holdAddr waits for it to close
	holdAddr   string
	scripts    []string // scripts started: their arguments joined by spaces
	scriptFail map[string]bool
	conns      int // open VRRP sockets
	managers   int // open VIP managers
}

func newFakeSys() *fakeSys {
	return &fakeSys{
		vrrpNet: vrrptest.NewNetwork(), kernel: ipvstest.NewKernel(), bfdNet: bfdtest.NewNetwork(),
		bfdAddr:   netip.MustParseAddr("192.0.2.1"),
		addrs:     map[string]netip.Addr{"eth0": netip.MustParseAddr("192.0.2.1"), "eth1": netip.MustParseAddr("198.51.100.1")},
		links:     map[string]bool{"eth0": true, "eth1": true},
		listenErr: map[string]error{}, scriptFail: map[string]bool{},
	}
}

// system returns the fake seam.
func (f *fakeSys) system() system {
	return system{
		listenVRRP: func(cfg vrrp.ConnConfig) (vrrpConn, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := f.listenErr[cfg.Interface]; err != nil {
				return nil, err
			}
			src := cfg.Source
			if !src.IsValid() {
				a, ok := f.addrs[cfg.Interface]
				if !ok {
					return nil, fmt.Errorf("fake: no interface %s", cfg.Interface)
				}
				src = a
			}
			f.conns++
			return &fakeConn{f: f, src: src}, nil
		},
		newVIP: func(cfg vip.Config) (vip.Controller, error) {
			m := &fakeVIP{Fake: viptest.New(), f: f}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.managers++
			f.vips = append(f.vips, m)
			return m, nil
		},
		dialIPVS: func(ctx context.Context, cfg ipvs.Config) (*ipvs.Manager, error) {
			f.mu.Lock()
			no := f.noIPVS
			f.mu.Unlock()
			if no {
				return nil, errNoIPVS
			}
			return ipvs.New(cfg, f.kernel)
		},
		listenBFD: func() (bfd.Transport, error) { return f.bfdNet.Listen(f.bfdAddr) },
		linkUp: func(name string) bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.links[name]
		},
		primaryIPv4: func(name string) netip.Addr {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.addrs[name]
		},
		processes: func() []procInfo {
			f.mu.Lock()
			defer f.mu.Unlock()
			return slices.Clone(f.procs)
		},
		startScript: func(ctx context.Context, s scriptCmd) (func() error, error) {
			line := strings.Join(s.Args, " ")
			f.mu.Lock()
			f.scripts = append(f.scripts, line)
			fail := f.scriptFail[s.Args[0]]
			f.mu.Unlock()
			return func() error {
				if fail {
					return fmt.Errorf("fake: %s failed", s.Args[0])
				}
				return nil
			}, nil
		},
		clock: realClock{},
	}
}

func (f *fakeSys) setLink(name string, up bool) {
	f.mu.Lock()
	f.links[name] = up
	f.mu.Unlock()
}

func (f *fakeSys) setProcs(p ...procInfo) {
	f.mu.Lock()
	f.procs = p
	f.mu.Unlock()
}

// takeOps returns and forgets the VIP operations so far.
func (f *fakeSys) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.ops
	f.ops = nil
	return o
}

// takeScripts returns and forgets the scripts started so far.
func (f *fakeSys) takeScripts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.scripts
	f.scripts = nil
	return s
}

// ownedAll returns everything every VIP manager owns, sorted.
func (f *fakeSys) ownedAll() []string {
	f.mu.Lock()
	vips := slices.Clone(f.vips)
	f.mu.Unlock()
	var out []string
	for _, m := range vips {
		s := m.OwnedSet()
		for _, a := range s.Addresses {
			out = append(out, a.String())
		}
		for _, r := range s.Routes {
			out = append(out, r.String())
		}
		for _, r := range s.Rules {
			out = append(out, r.String())
		}
	}
	slices.Sort(out)
	return out
}

// open returns the open sockets and managers.
func (f *fakeSys) open() (conns, managers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns, f.managers
}

type fakeConn struct {
	f    *fakeSys
	src  netip.Addr
	once sync.Once
}

func (c *fakeConn) Source() netip.Addr { return c.src }

func (c *fakeConn) Transport(vrid uint8) (vrrp.Transport, error) {
	return c.f.vrrpNet.Transport(c.src), nil
}

func (c *fakeConn) TransportAH(vrid uint8, key []byte) (vrrp.Transport, error) {
	return c.f.vrrpNet.Transport(c.src), nil
}

func (c *fakeConn) Close() error {
	c.once.Do(func() {
		c.f.mu.Lock()
		c.f.conns--
		c.f.mu.Unlock()
	})
	return nil
}

// fakeVIP is a viptest.Fake whose changes also go to the shared log, in
// ip(8) form, so a test sees the order across managers.
type fakeVIP struct {
	*viptest.Fake
	f *fakeSys
}

func (m *fakeVIP) log(lines ...string) {
	m.f.mu.Lock()
	m.f.ops = append(m.f.ops, lines...)
	m.f.mu.Unlock()
}

func (m *fakeVIP) Apply(ctx context.Context, s vip.Set) (vip.Changes, error) {
	m.f.mu.Lock()
	hold, addr := m.f.holdRemove, m.f.holdAddr
	m.f.mu.Unlock()
	if hold != nil && len(s.Addresses) == 0 {
		for _, a := range m.Fake.Owned() {
			if a.Prefix.String() == addr {
				<-hold
			}
		}
	}
	ch, err := m.Fake.Apply(ctx, s)
	for _, op := range ch.Ops {
		m.log(op.String())
	}
	return ch, err
}

func (m *fakeVIP) Announce(ctx context.Context, iface string, addrs []netip.Addr) error {
	m.log(fmt.Sprintf("announce %s %v", iface, addrs))
	return m.Fake.Announce(ctx, iface, addrs)
}

func (m *fakeVIP) CreateVMAC(ctx context.Context, v vip.VMAC) error {
	m.log("ip link add " + v.Name)
	return m.Fake.CreateVMAC(ctx, v)
}

func (m *fakeVIP) Close() error {
	owned := m.Fake.OwnedSet()
	var lines []string
	for _, a := range owned.Addresses {
		lines = append(lines, "close: ip addr del "+a.String())
	}
	for _, r := range owned.Routes {
		lines = append(lines, "close: ip route del "+r.String())
	}
	for _, r := range owned.Rules {
		lines = append(lines, "close: ip rule del "+r.String())
	}
	m.log(lines...)
	m.f.mu.Lock()
	m.f.managers--
	m.f.mu.Unlock()
	return m.Fake.Close()
}

// testDaemon is a daemon on a fake system with its notify FIFO (a regular
// file) and log.
type testDaemon struct {
	*daemon
	f    *fakeSys
	fifo string
	logw *syncWriter
}

// fifoPlaceholder in a test configuration is replaced by the FIFO path.
const fifoPlaceholder = "NOTIFY_FIFO"

// newTestDaemon parses conf (NOTIFY_FIFO replaced by a file in a temporary
// directory) and returns an unstarted daemon on a fake system.
func newTestDaemon(t *testing.T, conf string) (*testDaemon, *config.Config) {
	t.Helper()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := os.WriteFile(fifo, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	conf = strings.ReplaceAll(conf, fifoPlaceholder, fifo)
	c := parse(t, conf)
	f := newFakeSys()
	w := &syncWriter{}
	log := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d := newDaemonSys(log, options{VRRP: true, Check: true, ScriptTimeout: 5e9, IfacePoll: 2e8, DumpDir: dir,
		JSONDump: filepath.Join(dir, "keepalived.json"), ConfigFile: filepath.Join(dir, "keepalived.conf")}, nil, f.system())
	return &testDaemon{daemon: d, f: f, fifo: fifo, logw: w}, c
}

// fifoLines returns the lines written to the notify FIFO so far.
func (td *testDaemon) fifoLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(td.fifo)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// syncWriter serializes writes of the test log.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (td *testDaemon) logText() string {
	td.logw.mu.Lock()
	defer td.logw.mu.Unlock()
	return td.logw.b.String()
}

// runPeer runs a VRRP router with VRID 51 and priority prio at
// 192.0.2.2 on the fake network, until the returned function is called.
func runPeer(t *testing.T, f *fakeSys, prio uint8) (stop func()) {
	t.Helper()
	src := netip.MustParseAddr("192.0.2.2")
	p, err := vrrp.New(vrrp.Config{Name: "peer", VRID: 51, Priority: prio, AdvertInterval: time.Second, Version: 2,
		Source: src, Addrs: []netip.Addr{netip.MustParseAddr("192.0.2.100")}}, f.vrrpNet.Transport(src))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = p.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
