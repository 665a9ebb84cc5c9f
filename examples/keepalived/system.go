package main

// This file owns the daemon's seam to the operating system: the system
// struct holds every constructor and probe the daemon uses (VRRP sockets,
// VIP managers, the IPVS kernel, the BFD transport, link state, the
// process table, the script runner and the clock), and realSystem builds
// the Linux implementation. Tests build a system of in-memory fakes
// (fakesystem_test.go), so the daemon's behaviours run without root.

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/ipvs"
	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

// system is what the daemon needs from the operating system.
type system struct {
	// listenVRRP opens a shared VRRP socket (vrrp.Listen).
	listenVRRP func(cfg vrrp.ConnConfig) (vrrpConn, error)
	// newVIP returns a manager of virtual addresses, routes and rules
	// (vip.New; viptest.Fake in tests).
	newVIP func(cfg vip.Config) (vip.Controller, error)
	// dialIPVS opens the IPVS table (ipvs.Dial); errNoIPVS when the kernel
	// has no IPVS.
	dialIPVS func(ctx context.Context, cfg ipvs.Config) (*ipvs.Manager, error)
	// listenBFD opens the BFD transport (bfd.ListenUDP).
	listenBFD func() (bfd.Transport, error)
	// linkUp reports whether an interface exists, is up and has carrier.
	linkUp func(name string) bool
	// primaryIPv4 is the first IPv4 address of an interface, or the zero
	// address.
	primaryIPv4 func(name string) netip.Addr
	// processes lists the running processes (/proc).
	processes func() []procInfo
	// startScript starts a notify script; wait waits for it to end.
	startScript func(ctx context.Context, s scriptCmd) (wait func() error, err error)
	// clock is the source of time of the daemon's pollers and timestamps.
	clock clock
}

// clock is the suite's clock shape (vrrp.Clock, check.Clock, bfd.Clock).
type clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// vrrpConn is a shared VRRP socket (*vrrp.Conn).
type vrrpConn interface {
	Source() netip.Addr
	Transport(vrid uint8) (vrrp.Transport, error)
	TransportAH(vrid uint8, key []byte) (vrrp.Transport, error)
	Close() error
}

var _ vrrpConn = (*vrrp.Conn)(nil)

// scriptCmd is a notify script to run: its argument vector, run without a
// shell as cred (nil: the daemon's own user).
type scriptCmd struct {
	Args []string
	Cred *syscall.Credential
}

// errNoIPVS reports a kernel without IPVS.
var errNoIPVS = errors.New("no /proc/net/ip_vs")

// realClock is the clock of package time.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// realSystem is the Linux implementation of the seam; netns is the
// namespace path of the sockets and managers (empty: the caller's).
func realSystem(netns string) system {
	return system{
		listenVRRP: func(cfg vrrp.ConnConfig) (vrrpConn, error) {
			cfg.NetNS = netns
			c, err := vrrp.Listen(cfg)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
		newVIP: func(cfg vip.Config) (vip.Controller, error) {
			cfg.NetNS = netns
			m, err := vip.New(cfg)
			if err != nil {
				return nil, err
			}
			return m, nil
		},
		dialIPVS: func(ctx context.Context, cfg ipvs.Config) (*ipvs.Manager, error) {
			if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
				return nil, errNoIPVS
			}
			cfg.NetNS = netns
			return ipvs.Dial(ctx, cfg)
		},
		listenBFD: func() (bfd.Transport, error) {
			t, err := bfd.ListenUDP(bfd.UDPConfig{})
			if err != nil {
				return nil, err
			}
			return t, nil
		},
		linkUp:      linkUp,
		primaryIPv4: primaryIPv4,
		processes:   func() []procInfo { return scanProcs("/proc") },
		startScript: startScript,
		clock:       realClock{},
	}
}

// linkUp reports whether an interface exists, is up and has carrier.
func linkUp(name string) bool {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return false
	}
	return ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
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

// scanProcs reads every process in root (normally /proc).
func scanProcs(root string) []procInfo {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(root, e.Name(), "comm"))
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(root, e.Name(), "cmdline"))
		var argv []string
		if len(cmd) > 0 {
			argv = strings.Split(string(bytes.TrimSuffix(cmd, []byte{0})), "\x00")
		}
		out = append(out, procInfo{comm: strings.TrimSpace(string(comm)), argv: argv})
	}
	return out
}

// startScript starts s without a shell, in its own process group (killed
// as a whole when ctx ends), with a minimal environment in /.
func startScript(ctx context.Context, s scriptCmd) (func() error, error) {
	cmd := exec.CommandContext(ctx, s.Args[0], s.Args[1:]...)
	cmd.Env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: s.Cred}
	cmd.Cancel = func() error {
		if cmd.Process != nil {
			return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return nil
	}
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd.Wait, nil
}
