package main

// This file owns the pure translation of virtual_server blocks: the
// ipvs.Service of a virtual server and its group keys, its real servers'
// ipvs.Destinations, its ipvs.Policy (buildVS) and each checker block's
// check.Checker. Nothing here touches the system.

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/ipvs"
)

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

// buildVS builds the policy of a virtual server; its hooks hand the
// quorum and real server notify scripts to notify (nil: none).
func buildVS(c *config.Config, vs *config.VirtualServer, notify func(n config.Notify, what string)) (*vsRun, error) {
	if notify == nil {
		notify = func(config.Notify, string) {}
	}
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
	pv.OnQuorumUp = func() { notify(vs.QuorumUp, "quorum_up") }
	pv.OnQuorumDown = func() { notify(vs.QuorumDown, "quorum_down") }
	pv.OnRealServerUp = func(a netip.AddrPort) {
		if rs := notes[a]; rs != nil {
			notify(rs.NotifyUp, "notify_up")
		}
	}
	pv.OnRealServerDown = func(a netip.AddrPort) {
		if rs := notes[a]; rs != nil {
			notify(rs.NotifyDown, "notify_down")
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
