package ipvs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/nux-root/keepalived-go/internal/testutil"
	"github.com/nux-root/keepalived-go/internal/vm"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/ipvs/internal/conformance"
)

// TestMain runs the tests (in the VM: as its init) and fails the run on
// leaked goroutines.
func TestMain(m *testing.M) {
	os.Exit(vm.MainFunc(func() int {
		code := m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goroutine leak:", err)
				return 1
			}
		}
		return code
	}))
}

// openKernel opens the VM's IPVS table, empty, and empties it again after
// the test. It refuses to run outside the VM: these tests change the whole
// table, which on a host would be someone else's.
func openKernel(t testing.TB) *ipvs.Netlink {
	t.Helper()
	testutil.RequireIPVS(t)
	if !vm.InGuest() {
		testutil.Skip(t, "TestKernel* change the whole IPVS table: they run only inside the VM (go test -exec bin/vmexec)")
	}
	k, err := ipvs.Open(context.Background())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	flush := func() {
		if out, err := exec.Command("ipvsadm", "-C").CombinedOutput(); err != nil {
			t.Errorf("ipvsadm -C: %v\n%s", err, out)
		}
	}
	flush()
	t.Cleanup(func() {
		flush()
		k.Close()
	})
	return k
}

func ipvsadm(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ipvsadm", args...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var spaces = regexp.MustCompile(`[ \t]+`)

// listing returns ipvsadm -Ln with runs of blanks squeezed to one space.
func listing(t testing.TB, extra ...string) string {
	t.Helper()
	return spaces.ReplaceAllString(ipvsadm(t, "", append([]string{"-Ln"}, extra...)...), " ")
}

func wantLines(t testing.TB, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
}

// converged checks that the kernel reads back as desired: a plan from the
// kernel's state to desired is empty.
func converged(t testing.TB, k ipvs.Kernel, desired ipvs.State) ipvs.State {
	t.Helper()
	st, err := k.State(context.Background())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if ops := ipvs.Plan(st, desired, ipvs.Owned{}, ipvs.PlanOptions{}); len(ops) != 0 {
		t.Errorf("kernel differs from desired; still to do: %v", ops)
	}
	return st
}

func apply(t testing.TB, m *ipvs.Manager, desired ipvs.State) ipvs.Changes {
	t.Helper()
	ch, err := m.Apply(context.Background(), desired)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return ch
}

func TestKernelConformance(t *testing.T) {
	k := openKernel(t)
	for _, c := range conformance.Cases() {
		t.Run(c.Name, func(t *testing.T) { c.Run(t, context.Background(), k) })
	}
}

func TestKernelSchedulers(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	var desired ipvs.State
	var want []string
	for i, s := range ipvs.Schedulers() {
		ap := netip.AddrPortFrom(netip.MustParseAddr("192.0.2.10"), uint16(1000+i))
		svc := ipvs.Service{Key: ipvs.TCPService(ap), Scheduler: s, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 1 + i},
			{Addr: netip.MustParseAddrPort("198.51.100.2:80"), Weight: 2},
		}}
		line := "TCP " + ap.String() + " " + string(s)
		switch s {
		case ipvs.SH:
			svc.Flags = ipvs.SHFallback | ipvs.SHPort
			line += " (sh-fallback,sh-port)"
		case ipvs.MH:
			svc.Flags = ipvs.MHPort
			line += " (mh-port)"
		}
		desired.Services = append(desired.Services, svc)
		want = append(want, line)
	}
	ch := apply(t, m, desired)
	if got, w := len(ch.Ops), 3*len(ipvs.Schedulers()); got != w {
		t.Errorf("%d ops, want %d", got, w)
	}
	converged(t, k, desired)
	out := listing(t)
	t.Logf("ipvsadm -Ln:\n%s", out)
	wantLines(t, out, want...)
	wantLines(t, out, "-> 198.51.100.1:80 Masq 13 0 0", "-> 198.51.100.2:80 Masq 2 0 0")
	if ch := apply(t, m, desired); len(ch.Ops) != 0 {
		t.Errorf("no-op reconcile issued %v", ch.Ops)
	}
	// Switch every service to the next scheduler: updates only.
	for i := range desired.Services {
		s := &desired.Services[i]
		s.Scheduler, s.Flags = ipvs.Schedulers()[(i+1)%len(ipvs.Schedulers())], 0
	}
	ch = apply(t, m, desired)
	if n := ch.Count(ipvs.UpdateService); n != len(ch.Ops) || n != len(desired.Services) {
		t.Errorf("scheduler switch: %v, want one update-service each", ch.Ops)
	}
	converged(t, k, desired)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := k.State(context.Background()); len(st.Services) != 0 {
		t.Errorf("Close left %d services", len(st.Services))
	}
}

func TestKernelForwarding(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	v4 := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	v6 := ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::10]:53"))
	desired := ipvs.State{Services: []ipvs.Service{
		{Key: v4, Scheduler: ipvs.WRR, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("198.51.100.1:8080"), Weight: 1, UpperThreshold: 100, LowerThreshold: 10},
			{Addr: netip.MustParseAddrPort("198.51.100.2:80"), Weight: 2, Forward: ipvs.Route},
			{Addr: netip.MustParseAddrPort("198.51.100.3:80"), Weight: 3, Forward: ipvs.Tunnel},
			{Addr: netip.MustParseAddrPort("198.51.100.4:80"), Weight: 4, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080, TunnelFlags: ipvs.TunnelCsum},
			{Addr: netip.MustParseAddrPort("198.51.100.5:80"), Weight: 5, Forward: ipvs.Tunnel, TunnelType: ipvs.GRE, TunnelFlags: ipvs.TunnelCsum},
			{Addr: netip.MustParseAddrPort("[2001:db8::99]:80"), Weight: 6, Forward: ipvs.Tunnel},
		}},
		{Key: v6, Scheduler: ipvs.SH, Flags: ipvs.SHFallback | ipvs.OnePacket, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("[2001:db8::1]:5353"), Weight: 1},
			{Addr: netip.MustParseAddrPort("[2001:db8::2]:53"), Weight: 1, Forward: ipvs.Route},
			{Addr: netip.MustParseAddrPort("[2001:db8::3]:53"), Weight: 1, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6081, TunnelFlags: ipvs.TunnelRemCsum},
		}},
	}}
	apply(t, m, desired)
	st := converged(t, k, desired)
	got, _ := st.Service(v4)
	d, _ := got.Destination(netip.MustParseAddrPort("198.51.100.4:80"))
	if d.TunnelType != ipvs.GUE || d.TunnelPort != 6080 || d.TunnelFlags != ipvs.TunnelCsum {
		t.Errorf("gue real server read back as %+v", d)
	}
	out := listing(t, "--tun-info")
	t.Logf("ipvsadm -Ln --tun-info:\n%s", out)
	wantLines(t, out,
		"TCP 192.0.2.10:80 wrr",
		"-> 198.51.100.1:8080 Masq n/a 1 0 0",
		"-> 198.51.100.2:80 Route n/a 2 0 0",
		"-> 198.51.100.3:80 Tunnel ipip 3 0 0",
		"-> 198.51.100.4:80 Tunnel gue:6080:+c 4 0 0",
		"-> 198.51.100.5:80 Tunnel gre:+c 5 0 0",
		"-> [2001:db8::99]:80 Tunnel ipip 6 0 0",
		"UDP [2001:db8::10]:53 sh (sh-fallback) ops",
		"-> [2001:db8::1]:5353 Masq n/a 1 0 0",
		"-> [2001:db8::2]:53 Route n/a 1 0 0",
		"-> [2001:db8::3]:53 Tunnel gue:6081:r+c 1 0 0")
	thr := listing(t, "--thresholds")
	wantLines(t, thr, "-> 198.51.100.1:8080 100 10 0 0")

	// Change forwarding, tunnel and thresholds in place: updates only.
	desired.Services[0].Destinations[0].Forward = ipvs.Route
	desired.Services[0].Destinations[3].TunnelPort = 6090
	desired.Services[0].Destinations[4].TunnelType = ipvs.IPIP
	desired.Services[1].Destinations[0].UpperThreshold = 7
	ch := apply(t, m, desired)
	if n := ch.Count(ipvs.UpdateDestination); n != 4 || len(ch.Ops) != 4 {
		t.Errorf("in-place changes: %v, want 4 update-destination", ch.Ops)
	}
	converged(t, k, desired)
}

func TestKernelFWMarkPersistence(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	desired := ipvs.State{Services: []ipvs.Service{
		{Key: ipvs.FWMarkService(ipvs.IPv4, 42), Scheduler: ipvs.WLC, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("198.51.100.1:0"), Weight: 1, Forward: ipvs.Route},
			{Addr: netip.MustParseAddrPort("198.51.100.2:0"), Weight: 1, Forward: ipvs.Route},
		}},
		{Key: ipvs.FWMarkService(ipvs.IPv6, 42), Scheduler: ipvs.RR, Flags: ipvs.OnePacket, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("[2001:db8::1]:0"), Weight: 1, Forward: ipvs.Route},
		}},
		{Key: ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:443")), Scheduler: ipvs.RR,
			Persistence:  ipvs.Persistence{Timeout: 300 * time.Second, Netmask: 24},
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:443"), Weight: 1}}},
		{Key: ipvs.TCPService(netip.MustParseAddrPort("[2001:db8::10]:443")), Scheduler: ipvs.LC,
			Persistence:  ipvs.Persistence{Timeout: 60 * time.Second, Netmask: 64},
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("[2001:db8::1]:443"), Weight: 1}}},
		{Key: ipvs.UDPService(netip.MustParseAddrPort("192.0.2.10:5060")), Scheduler: ipvs.RR,
			Persistence:  ipvs.Persistence{Timeout: 30 * time.Second, Engine: "sip"},
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:5060"), Weight: 1}}},
		{Key: ipvs.SCTPService(netip.MustParseAddrPort("192.0.2.10:3868")), Scheduler: ipvs.RR,
			Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:3868"), Weight: 1}}},
	}}
	apply(t, m, desired)
	converged(t, k, desired)
	out := listing(t)
	t.Logf("ipvsadm -Ln:\n%s", out)
	wantLines(t, out,
		"FWM 42 wlc", "FWM 42 IPv6 rr ops",
		"TCP 192.0.2.10:443 rr persistent 300 mask 255.255.255.0",
		"TCP [2001:db8::10]:443 lc persistent 60 mask 64",
		"UDP 192.0.2.10:5060 rr persistent 30 pe sip",
		"SCTP 192.0.2.10:3868 rr",
	)
	// Persistence off and on again are service updates.
	desired.Services[2].Persistence = ipvs.Persistence{}
	desired.Services[3].Persistence.Netmask = 48
	ch := apply(t, m, desired)
	if n := ch.Count(ipvs.UpdateService); n != 2 || len(ch.Ops) != 2 {
		t.Errorf("persistence changes: %v, want 2 update-service", ch.Ops)
	}
	converged(t, k, desired)
}

// What ipvsadm wrote, we read and reconcile; Close leaves it as it was,
// except that our changes to it stay.
func TestKernelReadsIpvsadm(t *testing.T) {
	k := openKernel(t)
	ipvsadm(t, strings.Join([]string{
		"-A -t 192.0.2.20:80 -s wrr -p 120",
		"-a -t 192.0.2.20:80 -r 198.51.100.1:80 -m -w 3 -x 50 -y 5",
		"-a -t 192.0.2.20:80 -r 198.51.100.2:80 -g -w 1",
		"-A -u [2001:db8::20]:53 -s sh -b sh-port",
		"-a -u [2001:db8::20]:53 -r [2001:db8::1]:53 -i -w 2",
		"-A -f 7 -s mh -b mh-fallback",
		"-a -f 7 -r 198.51.100.3:0 -i --tun-type gue --tun-port 6080 -w 4",
		"",
	}, "\n"), "-R")
	st, err := k.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tcp := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.20:80"))
	udp := ipvs.UDPService(netip.MustParseAddrPort("[2001:db8::20]:53"))
	fwm := ipvs.FWMarkService(ipvs.IPv4, 7)
	want := ipvs.State{Services: []ipvs.Service{
		{Key: tcp, Scheduler: ipvs.WRR, Persistence: ipvs.Persistence{Timeout: 120 * time.Second}, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 3, UpperThreshold: 50, LowerThreshold: 5},
			{Addr: netip.MustParseAddrPort("198.51.100.2:80"), Weight: 1, Forward: ipvs.Route},
		}},
		{Key: udp, Scheduler: ipvs.SH, Flags: ipvs.SHPort, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("[2001:db8::1]:53"), Weight: 2, Forward: ipvs.Tunnel},
		}},
		{Key: fwm, Scheduler: ipvs.MH, Flags: ipvs.MHFallback, Destinations: []ipvs.Destination{
			{Addr: netip.MustParseAddrPort("198.51.100.3:0"), Weight: 4, Forward: ipvs.Tunnel, TunnelType: ipvs.GUE, TunnelPort: 6080},
		}},
	}}
	if ops := ipvs.Plan(st, want, ipvs.Owned{}, ipvs.PlanOptions{}); len(ops) != 0 {
		t.Errorf("read %+v\nstill differs from what ipvsadm wrote: %v", st, ops)
	}
	// Reconcile: our desired state names the TCP service with one changed
	// weight and one new real server, and adds a service of its own.
	m, _ := ipvs.New(ipvs.Config{}, k)
	desired := want.Clone()
	desired.Services = desired.Services[:1]
	desired.Services[0].Destinations[1].Weight = 9
	desired.Services[0].Destinations = append(desired.Services[0].Destinations, ipvs.Destination{Addr: netip.MustParseAddrPort("198.51.100.9:80"), Weight: 1, Forward: ipvs.Route})
	ours := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.21:80"))
	desired.Services = append(desired.Services, ipvs.Service{Key: ours, Scheduler: ipvs.RR,
		Destinations: []ipvs.Destination{{Addr: netip.MustParseAddrPort("198.51.100.1:80"), Weight: 1}}})
	ch := apply(t, m, desired)
	got := opStrs(ch.Ops)
	wantOps := []string{
		"-e -t 192.0.2.20:80 -r 198.51.100.2:80 -g -w 9",
		"-a -t 192.0.2.20:80 -r 198.51.100.9:80 -g -w 1",
		"-A -t 192.0.2.21:80 -s rr",
		"-a -t 192.0.2.21:80 -r 198.51.100.1:80 -m -w 1",
	}
	if diff := cmp.Diff(wantOps, got); diff != "" {
		t.Errorf("reconcile ops (-want +got):\n%s", diff)
	}
	out := listing(t)
	wantLines(t, out, "-> 198.51.100.2:80 Route 9", "-> 198.51.100.9:80 Route 1", "TCP 192.0.2.21:80 rr",
		"UDP [2001:db8::20]:53 sh", "FWM 7 mh")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out = listing(t)
	t.Logf("after Close:\n%s", out)
	if strings.Contains(out, "198.51.100.9:80") || strings.Contains(out, "192.0.2.21:80") {
		t.Errorf("Close left what it added:\n%s", out)
	}
	wantLines(t, out, "TCP 192.0.2.20:80 wrr", "-> 198.51.100.2:80 Route 9", "UDP [2001:db8::20]:53 sh", "FWM 7 mh")
}

func opStrs(ops []ipvs.Op) []string {
	out := []string{}
	for _, op := range ops {
		out = append(out, op.String())
	}
	return out
}

func TestKernelDrain(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{Removal: ipvs.Drain}, k)
	key := ipvs.TCPService(netip.MustParseAddrPort("192.0.2.10:80"))
	a, b := netip.MustParseAddrPort("198.51.100.1:80"), netip.MustParseAddrPort("198.51.100.2:80")
	desired := ipvs.State{Services: []ipvs.Service{{Key: key, Destinations: []ipvs.Destination{{Addr: a, Weight: 1}, {Addr: b, Weight: 1}}}}}
	apply(t, m, desired)
	desired.Services[0].Destinations = desired.Services[0].Destinations[:1]
	ch := apply(t, m, desired)
	if got := opStrs(ch.Ops); !cmp.Equal(got, []string{"-e -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 0"}) {
		t.Errorf("drain: %v", got)
	}
	ch = apply(t, m, desired) // no connections: now deleted
	if got := opStrs(ch.Ops); !cmp.Equal(got, []string{"-d -t 192.0.2.10:80 -r 198.51.100.2:80"}) {
		t.Errorf("after drain: %v", got)
	}
	converged(t, k, desired)
}

func TestKernelTimeouts(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	old, err := k.State(context.Background())
	if err != nil || old.Timeouts == nil {
		t.Fatalf("State: %v, timeouts %v", err, old.Timeouts)
	}
	t.Cleanup(func() { _ = k.Exec(context.Background(), ipvs.Op{Kind: ipvs.SetTimeouts, Timeouts: *old.Timeouts}) })
	desired := ipvs.State{Timeouts: &ipvs.Timeouts{TCP: 600 * time.Second, TCPFin: 30 * time.Second, UDP: 60 * time.Second}}
	if ch := apply(t, m, desired); len(ch.Ops) != 1 {
		t.Errorf("ops %v, want one set-timeouts", ch.Ops)
	}
	st := converged(t, k, desired)
	if diff := cmp.Diff(desired.Timeouts, st.Timeouts); diff != "" {
		t.Errorf("timeouts (-want +got):\n%s", diff)
	}
	wantLines(t, spaces.ReplaceAllString(ipvsadm(t, "", "-L", "--timeout"), " "), "Timeout (tcp tcpfin udp): 600 30 60")
}

func TestKernelSyncDaemon(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	ctx := context.Background()
	master := ipvs.SyncDaemon{Role: ipvs.Master, Interface: "lo", SyncID: 7}
	backup := ipvs.SyncDaemon{Role: ipvs.Backup, Interface: "lo", SyncID: 7}
	for _, d := range []ipvs.SyncDaemon{master, backup} {
		if err := m.StartSyncDaemon(ctx, d); err != nil {
			t.Fatalf("start %v: %v", d.Role, err)
		}
		t.Cleanup(func() { _ = k.StopDaemon(ctx, d.Role) })
	}
	if err := m.StartSyncDaemon(ctx, master); !errors.Is(err, ipvs.ErrExist) {
		t.Errorf("second master start = %v, want ErrExist", err)
	}
	got, err := m.SyncDaemons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[ipvs.Role]ipvs.SyncDaemon{}
	for _, d := range got {
		roles[d.Role] = d
	}
	for _, w := range []ipvs.SyncDaemon{master, backup} {
		g := roles[w.Role]
		if g.Interface != w.Interface || g.SyncID != w.SyncID {
			t.Errorf("%v daemon read back as %+v", w.Role, g)
		}
	}
	out := spaces.ReplaceAllString(ipvsadm(t, "", "-L", "--daemon"), " ")
	t.Logf("ipvsadm -L --daemon:\n%s", out)
	wantLines(t, out, "master sync daemon (mcast=lo, syncid=7", "backup sync daemon (mcast=lo, syncid=7")
	for _, r := range []ipvs.Role{ipvs.Master, ipvs.Backup} {
		if err := m.StopSyncDaemon(ctx, r); err != nil {
			t.Errorf("stop %v: %v", r, err)
		}
	}
	if err := m.StopSyncDaemon(ctx, ipvs.Master); !errors.Is(err, ipvs.ErrNoDaemon) {
		t.Errorf("stop of a stopped daemon = %v, want ErrNoDaemon", err)
	}
	if got, _ := m.SyncDaemons(ctx); len(got) != 0 {
		t.Errorf("daemons left: %+v", got)
	}
	// ipvsadm starts one, we see it.
	ipvsadm(t, "", "--start-daemon", "backup", "--mcast-interface", "lo", "--syncid", "9")
	got, _ = m.SyncDaemons(ctx)
	if len(got) != 1 || got[0].Role != ipvs.Backup || got[0].SyncID != 9 || got[0].Interface != "lo" {
		t.Errorf("daemon started by ipvsadm read as %+v", got)
	}
	if err := m.StopSyncDaemon(ctx, ipvs.Backup); err != nil {
		t.Error(err)
	}
	// Start and stop at once (a VRRP flap): the kernel stops a thread that
	// never ran and sends no answer; StopDaemon must still report success.
	for i := range 3 {
		for _, r := range []ipvs.Role{ipvs.Master, ipvs.Backup} {
			if err := m.StartSyncDaemon(ctx, ipvs.SyncDaemon{Role: r, Interface: "lo", SyncID: uint8(i)}); err != nil {
				t.Fatalf("flap %d: start %v: %v", i, r, err)
			}
			if err := m.StopSyncDaemon(ctx, r); err != nil {
				t.Fatalf("flap %d: stop %v: %v", i, r, err)
			}
		}
	}
	if got, _ := m.SyncDaemons(ctx); len(got) != 0 {
		t.Errorf("daemons left after flaps: %+v", got)
	}
}

// Traffic through a NAT service on loopback shows in the statistics;
// Zero clears them.
func TestKernelStats(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{}, k)
	ctx := context.Background()
	rs := serveLoopback(t, func(c net.Conn) { c.Write([]byte("hello")) })
	key := ipvs.TCPService(netip.MustParseAddrPort("127.0.0.1:9000"))
	apply(t, m, ipvs.State{Services: []ipvs.Service{{Key: key, Scheduler: ipvs.RR,
		Destinations: []ipvs.Destination{{Addr: rs, Weight: 1}}}}})
	const n = 5
	for range n {
		c := dialIPVS(t, "127.0.0.1:9000")
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
			t.Errorf("read through IPVS: %q, %v", buf, err)
		}
		c.Close()
	}
	// The kernel's estimator publishes the per-CPU counters every 2 s; wait
	// for them up to ten times that.
	var svc ipvs.Service
	var d ipvs.Destination
	for i := 0; i < 80 && svc.Stats.Conns < n; i++ {
		if i > 0 {
			time.Sleep(250 * time.Millisecond)
		}
		st, err := m.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		svc, _ = st.Service(key)
		d, _ = svc.Destination(rs)
	}
	t.Logf("service stats %+v; real server %+v", svc.Stats, d.Counters)
	if svc.Stats.Conns != n || d.Counters.Stats.Conns != n || svc.Stats.PktsIn == 0 || svc.Stats.BytesIn == 0 {
		t.Errorf("stats: service %+v, real server %+v; want %d connections and traffic", svc.Stats, d.Counters.Stats, n)
	}
	stats := spaces.ReplaceAllString(ipvsadm(t, "", "-Ln", "--stats"), " ")
	wantLines(t, stats, "TCP 127.0.0.1:9000 5 ")
	if err := m.Zero(ctx, key); err != nil {
		t.Fatal(err)
	}
	st, _ := m.State(ctx)
	svc, _ = st.Service(key)
	if svc.Stats.Conns != 0 {
		t.Errorf("after Zero: %+v", svc.Stats)
	}
	if err := m.Zero(ctx, ipvs.TCPService(netip.MustParseAddrPort("127.0.0.1:1"))); !errors.Is(err, ipvs.ErrNoService) {
		t.Errorf("Zero of a missing service = %v, want ErrNoService", err)
	}
}

// ioWait bounds a loopback dial, read or write through IPVS in the VM: far
// above what one takes, so that only a hang fails.
const ioWait = 10 * time.Second

// serveLoopback accepts TCP connections on 127.0.0.1 until the test ends,
// runs handle on each (then closes it) and returns the listening address.
func serveLoopback(t *testing.T, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return netip.MustParseAddrPort(ln.Addr().String())
}

// dialIPVS connects to a virtual service on loopback, with ioWait as the
// connection's deadline.
func dialIPVS(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, ioWait)
	if err != nil {
		t.Fatalf("dial through IPVS: %v", err)
	}
	c.SetDeadline(time.Now().Add(ioWait))
	return c
}

// A cancelled context returns at once.
func TestKernelCancel(t *testing.T) {
	k := openKernel(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := k.State(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("State with a cancelled ctx = %v", err)
	}
	k.Close()
	if _, err := k.State(context.Background()); !errors.Is(err, ipvs.ErrClosed) {
		t.Errorf("State after Close = %v, want ErrClosed", err)
	}
}

// Draining keeps a live connection working: the real server goes to
// weight 0, stays while the kernel counts its connection, and the
// connection still carries data.
func TestKernelDrainLiveConnection(t *testing.T) {
	k := openKernel(t)
	m, _ := ipvs.New(ipvs.Config{Removal: ipvs.Drain}, k)
	ctx := context.Background()
	rs := serveLoopback(t, func(c net.Conn) { io.Copy(c, c) }) // echo
	other := netip.MustParseAddrPort("127.0.0.2:1")            // weight 0: never chosen
	key := ipvs.TCPService(netip.MustParseAddrPort("127.0.0.1:9001"))
	desired := ipvs.State{Services: []ipvs.Service{{Key: key, Scheduler: ipvs.WRR, Destinations: []ipvs.Destination{
		{Addr: rs, Weight: 1}, {Addr: other, Weight: 0}}}}}
	apply(t, m, desired)
	c := dialIPVS(t, "127.0.0.1:9001")
	defer c.Close()
	echo := func() {
		t.Helper()
		c.SetDeadline(time.Now().Add(ioWait))
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatalf("write: %v", err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
			t.Fatalf("echo through IPVS: %q, %v", buf, err)
		}
	}
	echo()
	desired.Services[0].Destinations = desired.Services[0].Destinations[1:] // rs no longer desired
	ch := apply(t, m, desired)
	if got := opStrs(ch.Ops); len(got) != 1 || !strings.Contains(got[0], "-e ") || !strings.HasSuffix(got[0], "-w 0") {
		t.Errorf("drain ops %v, want one weight-0 update", got)
	}
	for range 2 {
		if ch := apply(t, m, desired); len(ch.Ops) != 0 {
			t.Errorf("busy draining server: ops %v, want none", opStrs(ch.Ops))
		}
	}
	st, _ := m.State(ctx)
	svc, _ := st.Service(key)
	d, ok := svc.Destination(rs)
	if !ok || d.Weight != 0 || d.Counters.ActiveConns != 1 {
		t.Errorf("draining server: %+v (present %v), want weight 0 with 1 active connection", d, ok)
	}
	echo() // the live connection survived the drain
}
