package testutil

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// daemonStartTimeout bounds how long a peer may take to come up.
	daemonStartTimeout = 15 * time.Second
	// daemonStopTimeout bounds a graceful stop.
	daemonStopTimeout = 15 * time.Second
	// familyAll is AF_UNSPEC: list addresses of every family.
	familyAll = 0
)

// KeepalivedOptions selects how [StartKeepalived] runs keepalived. The zero
// value runs the VRRP child only (--vrrp).
type KeepalivedOptions struct {
	// BFD runs keepalived without --vrrp, for configurations holding
	// bfd_instance blocks: keepalived then starts only the children its
	// configuration needs (the BFD child, plus VRRP if vrrp_instance blocks
	// are present).
	BFD bool
	// Args are extra command-line arguments, appended after the defaults
	// ("-n -l -D" and the private pid files).
	Args []string
}

// KeepalivedState is one line of keepalived's notify_fifo, such as
// `INSTANCE "VI_1" MASTER 150`.
type KeepalivedState struct {
	Type     string    // "INSTANCE" or "GROUP" (sync group)
	Instance string    // the vrrp_instance or vrrp_sync_group name
	State    string    // "BACKUP", "MASTER", "FAULT" or "STOP"
	Priority int       // the instance's priority (0 for groups)
	At       time.Time // when the line was read
}

// ParseKeepalivedState parses one notify_fifo line.
func ParseKeepalivedState(line string) (KeepalivedState, error) {
	var s KeepalivedState
	typ, rest, ok := strings.Cut(strings.TrimSpace(line), " ")
	if !ok || typ == "" {
		return s, fmt.Errorf("testutil: notify_fifo line %q: want TYPE \"NAME\" STATE [PRIORITY]", line)
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, `"`) {
		return s, fmt.Errorf("testutil: notify_fifo line %q: name not quoted", line)
	}
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return s, fmt.Errorf("testutil: notify_fifo line %q: unterminated name", line)
	}
	s.Type, s.Instance = typ, rest[1:1+end]
	f := strings.Fields(rest[2+end:])
	if len(f) < 1 || len(f) > 2 {
		return s, fmt.Errorf("testutil: notify_fifo line %q: want STATE [PRIORITY] after the name", line)
	}
	s.State = f[0]
	if len(f) == 2 {
		p, err := strconv.Atoi(f[1])
		if err != nil {
			return s, fmt.Errorf("testutil: notify_fifo line %q: priority: %w", line, err)
		}
		s.Priority = p
	}
	return s, nil
}

// Keepalived is a real keepalived running in a namespace, started by
// [StartKeepalived].
type Keepalived struct {
	// Dir is the private directory holding the config, pid files, FIFO and log.
	Dir string
	// Log is the path of the file receiving keepalived's stdout and stderr.
	Log string
	// ConfigPath is the configuration file keepalived was started with.
	ConfigPath string

	t         testing.TB
	ns        *NetNS
	conf      string
	parent    *os.Process
	parentPID int
	pidFiles  []string
	exited    chan struct{} // closed once the parent has been waited for
	states    chan KeepalivedState
	fifo      *os.File
	readerWG  sync.WaitGroup
	once      sync.Once
	before    snapshot
}

// StartKeepalived writes conf to a private directory in t.TempDir() and runs
// `keepalived -n -l -D --vrrp -f conf -p pid -r vrrp.pid` (see
// [KeepalivedOptions]) inside ns. A notify_fifo line is added to global_defs
// unless conf already names one, and its lines are delivered by
// [Keepalived.States]. It returns once keepalived's child processes have
// written their pid files. Cleanup kills keepalived and removes the VIPs,
// VMAC interfaces and nftables tables it left; if the test failed, the log is
// printed.
func StartKeepalived(t testing.TB, ns *NetNS, conf string, opts KeepalivedOptions) *Keepalived {
	t.Helper()
	bin := RequireCommand(t, "keepalived")
	dir := t.TempDir()
	k := &Keepalived{
		Dir:        dir,
		Log:        filepath.Join(dir, "keepalived.log"),
		ConfigPath: filepath.Join(dir, "keepalived.conf"),
		t:          t,
		ns:         ns,
		exited:     make(chan struct{}),
		states:     make(chan KeepalivedState, 1024),
	}
	fifo, conf := withNotifyFIFO(conf, filepath.Join(dir, "notify.fifo"))
	k.conf = conf
	if err := os.WriteFile(k.ConfigPath, []byte(conf), 0o644); err != nil {
		t.Fatalf("testutil: %v", err)
	}
	if err := syscall.Mkfifo(fifo, 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		t.Fatalf("testutil: mkfifo %s: %v", fifo, err)
	}
	// O_RDWR: opening never blocks and keepalived's restarts never give EOF.
	f, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("testutil: open notify fifo: %v", err)
	}
	k.fifo = f
	k.readerWG.Add(1)
	go k.readStates()

	var err2 error
	if k.before, err2 = takeSnapshot(ns); err2 != nil {
		f.Close()
		t.Fatalf("testutil: %v", err2)
	}
	pid := filepath.Join(dir, "keepalived.pid")
	vrrpPid := filepath.Join(dir, "vrrp.pid")
	chkPid := filepath.Join(dir, "checkers.pid")
	bfdPid := filepath.Join(dir, "bfd.pid")
	args := []string{"-n", "-l", "-D", "-f", k.ConfigPath, "-p", pid, "-r", vrrpPid, "-c", chkPid, "-b", bfdPid}
	wait := []string{vrrpPid}
	if opts.BFD {
		wait = []string{bfdPid}
	} else {
		args = append(args, "--vrrp")
	}
	args = append(args, opts.Args...)
	k.pidFiles = []string{vrrpPid, chkPid, bfdPid}

	logf, err := os.Create(k.Log)
	if err != nil {
		f.Close()
		t.Fatalf("testutil: %v", err)
	}
	cmd := ns.Command(context.Background(), bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		f.Close()
		t.Fatalf("testutil: start keepalived in %s: %v", ns.Name, err)
	}
	logf.Close()
	ns.trackPID(cmd.Process.Pid)
	go func() {
		_ = cmd.Wait()
		close(k.exited)
	}()
	k.parent, k.parentPID = cmd.Process, cmd.Process.Pid
	t.Cleanup(func() {
		k.Kill()
		if t.Failed() {
			k.dumpLog()
		}
	})
	deadline := time.Now().Add(daemonStartTimeout)
	for _, p := range wait {
		for readPID(p) == 0 {
			select {
			case <-k.exited:
				t.Fatalf("testutil: keepalived in %s exited at start:\n%s", ns.Name, k.logText())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("testutil: keepalived in %s wrote no %s within %v:\n%s", ns.Name, filepath.Base(p), daemonStartTimeout, k.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, p := range k.pidFiles {
		ns.trackPID(readPID(p))
	}
	return k
}

// withNotifyFIFO returns the notify_fifo path of conf, adding
// "notify_fifo def" to global_defs (or a new global_defs) if conf has none.
func withNotifyFIFO(conf, def string) (path, out string) {
	for _, l := range strings.Split(conf, "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "notify_fifo" {
			return f[1], conf
		}
	}
	line := "    notify_fifo " + def + "\n"
	if loc := globalDefsRE.FindStringIndex(conf); loc != nil {
		return def, conf[:loc[1]] + "\n" + line + conf[loc[1]:]
	}
	return def, "global_defs {\n" + line + "}\n" + conf
}

var globalDefsRE = regexp.MustCompile(`(?m)^\s*global_defs\s*\{`)

func (k *Keepalived) readStates() {
	defer k.readerWG.Done()
	defer close(k.states)
	sc := bufio.NewScanner(k.fifo)
	for sc.Scan() {
		s, err := ParseKeepalivedState(sc.Text())
		if err != nil {
			continue
		}
		s.At = time.Now()
		select {
		case k.states <- s:
		default: // nobody reads: drop rather than stall
		}
	}
}

// States returns the notify_fifo events as they happen. The channel is
// closed after the daemon has been stopped or killed.
func (k *Keepalived) States() <-chan KeepalivedState { return k.states }

// WaitState reads [Keepalived.States] until instance reaches state, and
// fails the test after timeout.
func (k *Keepalived) WaitState(t testing.TB, instance, state string, timeout time.Duration) KeepalivedState {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case s, ok := <-k.states:
			if !ok {
				t.Fatalf("testutil: keepalived in %s stopped before %s reached %s:\n%s", k.ns.Name, instance, state, k.logText())
			}
			if s.Instance == instance && s.State == state {
				return s
			}
		case <-k.exited:
			t.Fatalf("testutil: keepalived in %s exited before %s reached %s:\n%s", k.ns.Name, instance, state, k.logText())
		case <-timer.C:
			t.Fatalf("testutil: %s did not reach %s within %v in %s:\n%s", instance, state, timeout, k.ns.Name, k.logText())
		}
	}
}

// PIDs returns the parent's PID followed by the running children's PIDs.
func (k *Keepalived) PIDs() []int {
	pids := []int{k.parentPID}
	for _, p := range k.pidFiles {
		if pid := readPID(p); pid != 0 && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Kill stops keepalived abruptly: it freezes the parent (so it cannot
// respawn children), SIGKILLs the children and then the parent, waits until
// they are gone (zombies awaiting PID 1 count as gone), and removes the VIPs,
// VMAC interfaces and nftables tables keepalived left behind. It is a no-op
// once keepalived has stopped.
func (k *Keepalived) Kill() {
	k.once.Do(func() {
		_ = k.parent.Signal(syscall.SIGSTOP)
		children := k.children()
		k.killAll(children)
		k.finish(children, "kill")
	})
}

// Stop sends SIGTERM to keepalived and waits (at most 15 s, then kills it)
// until it and its children have exited. keepalived then removes its VIPs
// and sends priority-0 adverts itself; leftovers are removed anyway.
func (k *Keepalived) Stop() {
	k.once.Do(func() {
		children := k.children()
		_ = k.parent.Signal(syscall.SIGTERM)
		select {
		case <-k.exited:
		case <-time.After(daemonStopTimeout):
			k.t.Errorf("testutil: keepalived in %s ignored SIGTERM for %v; killing it", k.ns.Name, daemonStopTimeout)
			_ = k.parent.Signal(syscall.SIGSTOP)
			k.killAll(children)
		}
		k.finish(children, "stop")
	})
}

// killAll SIGKILLs the children, then the parent (which the caller has
// stopped with SIGSTOP so that it cannot respawn them).
func (k *Keepalived) killAll(children []int) {
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	_ = k.parent.Signal(syscall.SIGKILL)
}

// children returns the PIDs in keepalived's child pid files that belong to
// live processes in the namespace.
func (k *Keepalived) children() []int {
	var pids []int
	for _, p := range k.pidFiles {
		if pid := readPID(p); pid != 0 && alive(pid) && inNamespace(pid, k.ns.Path()) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// finish waits for the processes, stops the state reader and removes what
// keepalived left behind.
func (k *Keepalived) finish(children []int, how string) {
	select {
	case <-k.exited:
	case <-time.After(killWait):
		k.t.Errorf("testutil: keepalived parent %d in %s still running after %s", k.parentPID, k.ns.Name, how)
	}
	deadline := time.Now().Add(killWait)
	for _, pid := range children {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			k.t.Errorf("testutil: keepalived child %d in %s still running after %s", pid, k.ns.Name, how)
		}
	}
	k.fifo.Close()
	k.readerWG.Wait()
	if err := k.before.restore(k.t, k.ns, vipsOf(k.conf)); err != nil {
		k.t.Errorf("testutil: removing keepalived leftovers in %s: %v", k.ns.Name, err)
	}
}

func (k *Keepalived) logText() string { return logText(k.Log) }

// logText returns the content of a daemon's log file, or why it cannot be
// read.
func logText(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

func (k *Keepalived) dumpLog() {
	k.t.Logf("keepalived in %s, config %s:\n%s\n--- log:\n%s", k.ns.Name, k.ConfigPath, k.conf, k.logText())
}

// readPID returns the PID in a pid file, or 0.
func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// vipsOf returns the addresses listed in the virtual_ipaddress and
// virtual_ipaddress_excluded blocks of a keepalived configuration.
func vipsOf(conf string) map[string]bool {
	vips := map[string]bool{}
	in := false
	for _, l := range strings.Split(conf, "\n") {
		if i := strings.IndexAny(l, "#!"); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if !in {
			if (f[0] == "virtual_ipaddress" || f[0] == "virtual_ipaddress_excluded") && strings.Contains(l, "{") {
				in = true
			}
			continue
		}
		if f[0] == "}" {
			in = false
			continue
		}
		addr, _, _ := strings.Cut(f[0], "/")
		if ip := net.ParseIP(addr); ip != nil {
			vips[ip.String()] = true
		}
	}
	return vips
}

// snapshot records the links, addresses and nftables tables of a namespace
// before a daemon starts, so that what it leaves behind can be removed.
type snapshot struct {
	links  map[int]bool
	addrs  map[string]bool // "ifindex addr/prefix"
	tables map[string]bool // "family name"
}

func takeSnapshot(ns *NetNS) (snapshot, error) {
	s := snapshot{links: map[int]bool{}, addrs: map[string]bool{}, tables: map[string]bool{}}
	h, err := ns.handle()
	if err != nil {
		return s, err
	}
	defer h.Close()
	links, err := h.LinkList()
	if err != nil {
		return s, fmt.Errorf("list links in %s: %w", ns.Name, err)
	}
	for _, l := range links {
		s.links[l.Attrs().Index] = true
	}
	addrs, err := h.AddrList(nil, familyAll)
	if err != nil {
		return s, fmt.Errorf("list addresses in %s: %w", ns.Name, err)
	}
	for _, a := range addrs {
		s.addrs[fmt.Sprintf("%d %s", a.LinkIndex, a.IPNet)] = true
	}
	for _, tb := range nftTables(ns) {
		s.tables[tb] = true
	}
	return s, nil
}

// restore deletes links of kind macvlan/ipvlan created since the snapshot,
// new addresses whose IP is one of vips (or any new non-link-local address
// when vips is empty), and new nftables tables named keepalived.
func (s snapshot) restore(t testing.TB, ns *NetNS, vips map[string]bool) error {
	h, err := ns.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	var errs []error
	links, err := h.LinkList()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	for _, l := range links {
		if s.links[l.Attrs().Index] {
			continue
		}
		if typ := l.Type(); typ == "macvlan" || typ == "ipvlan" || typ == "macvtap" {
			if err := h.LinkDel(l); err != nil {
				errs = append(errs, fmt.Errorf("delete link %s: %w", l.Attrs().Name, err))
			} else {
				t.Logf("testutil: removed leftover %s interface %s in %s", typ, l.Attrs().Name, ns.Name)
			}
		}
	}
	addrs, err := h.AddrList(nil, familyAll)
	if err != nil {
		return errors.Join(append(errs, fmt.Errorf("list addresses: %w", err))...)
	}
	for _, a := range addrs {
		if s.addrs[fmt.Sprintf("%d %s", a.LinkIndex, a.IPNet)] || a.IP.IsLinkLocalUnicast() {
			continue
		}
		if len(vips) > 0 && !vips[a.IP.String()] {
			continue
		}
		link, err := h.LinkByIndex(a.LinkIndex)
		if err == nil {
			err = h.AddrDel(link, &a)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("delete address %s: %w", a.IPNet, err))
		} else {
			t.Logf("testutil: removed leftover address %s in %s", a.IPNet, ns.Name)
		}
	}
	for _, tb := range nftTables(ns) {
		if s.tables[tb] || !strings.HasSuffix(tb, " keepalived") {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		fam, name, _ := strings.Cut(tb, " ")
		if out, err := ns.Command(ctx, "nft", "delete", "table", fam, name).CombinedOutput(); err != nil {
			errs = append(errs, fmt.Errorf("nft delete table %s: %w: %s", tb, err, out))
		} else {
			t.Logf("testutil: removed leftover nftables table %s in %s", tb, ns.Name)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// nftTables lists "family name" of the nftables tables in ns (none if nft
// is missing).
func nftTables(ns *NetNS) []string {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, err := ns.Command(ctx, "nft", "list", "tables").Output()
	if err != nil {
		return nil
	}
	var tables []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "table" {
			tables = append(tables, f[1]+" "+f[2])
		}
	}
	return tables
}
