package check

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"syscall"

	"github.com/miekg/dns"
)

// DNS is keepalived's DNS_CHECK: it sends one query for Name and Type to
// Server and expects a reply with the query's ID, RCODE NOERROR and answers
// of the queried type (and, if Expect is set, every expected value among
// them).
//
// Replies whose ID or question differs from the query are ignored (a spoofed
// or stale reply cannot make the check pass or fail); if no matching reply
// arrives before the context's deadline, the check fails with a timeout that
// says how many replies were ignored.
type DNS struct {
	// Server is the DNS server's address and port. Required.
	Server netip.AddrPort
	// Name is the query name. If empty, "." (keepalived's default).
	Name string
	// Type is the query type, e.g. dns.TypeA. If zero, dns.TypeSOA
	// (keepalived's default).
	Type uint16
	// Expect lists answer values that must all be present: addresses for
	// A/AAAA, target names for CNAME/NS/PTR/MX, text for TXT. Names compare
	// case-insensitively with or without the final dot. If empty, any
	// answer of the queried type suffices.
	Expect []string
	// TCP queries over TCP instead of UDP.
	TCP bool
	// NoRecursion clears the RD bit of the query.
	NoRecursion bool
	// Bind and Interface select the local address and device, as in TCP.
	Bind      netip.AddrPort
	Interface string
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (d *DNS) Validate() error { return configError("dns", d.validate()) }

func (d *DNS) validate() error {
	var errs []error
	if err := validAddrPort("server", d.Server); err != nil {
		errs = append(errs, err)
	}
	if d.Name != "" {
		if _, ok := dns.IsDomainName(d.Name); !ok {
			errs = append(errs, fmt.Errorf("name %q: %w", d.Name, ErrInvalidConfig))
		}
	}
	return joinErrors(errs)
}

type dnsKey struct {
	server, bind   netip.AddrPort
	name, expect   string
	typ            uint16
	tcp, norecurse bool
	iface          string
}

// CheckKey returns a comparable value naming every parameter of d.
func (d *DNS) CheckKey() any {
	return dnsKey{server: d.Server, bind: d.Bind, name: strings.ToLower(dns.Fqdn(d.name())), expect: fmt.Sprintf("%q", d.Expect),
		typ: d.qtype(), tcp: d.TCP, norecurse: d.NoRecursion, iface: d.Interface}
}

func (d *DNS) name() string {
	if d.Name == "" {
		return "."
	}
	return d.Name
}

func (d *DNS) qtype() uint16 {
	if d.Type == 0 {
		return dns.TypeSOA
	}
	return d.Type
}

// errWrongID marks a reply that does not belong to the query.
var errWrongID = errors.New("reply does not match the query")

// Check sends the query.
func (d *DNS) Check(ctx context.Context) error {
	target := d.Server.String()
	if err := d.validate(); err != nil {
		return fail(ctx, "dns", target, ReasonConfig, err)
	}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(d.name()), d.qtype())
	q.RecursionDesired = !d.NoRecursion
	wire, err := q.Pack()
	if err != nil {
		return fail(ctx, "dns", target, ReasonConfig, err)
	}
	network := "udp"
	if d.TCP {
		network = "tcp"
	}
	c, release, err := connect(ctx, network, target, d.Bind, d.Interface)
	if err != nil {
		return fail(ctx, "dns", target, ReasonConnect, err)
	}
	defer release()
	if d.TCP {
		wire = append(binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(wire)), uint16(len(wire))), wire...)
	}
	if _, err := c.Write(wire); err != nil {
		return fail(ctx, "dns", target, ReasonConnect, fmt.Errorf("send query: %w", err))
	}
	buf := make([]byte, 65535)
	ignored := 0
	var lastBad error
	for {
		var n int
		if d.TCP {
			var l [2]byte
			if _, err = io.ReadFull(c, l[:]); err == nil {
				n = int(binary.BigEndian.Uint16(l[:]))
				_, err = io.ReadFull(c, buf[:n])
			}
		} else {
			n, err = c.Read(buf)
		}
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				return fail(ctx, "dns", target, ReasonUnreachable, fmt.Errorf("%w: %w", ErrPortUnreachable, err))
			}
			if ignored > 0 {
				err = fmt.Errorf("%w (ignored %d datagrams not answering the query, last: %w)", err, ignored, lastBad)
			}
			return fail(ctx, "dns", target, ReasonProtocol, err)
		}
		reason, err := evalDNSReply(q, buf[:n], d.Expect)
		if reason == ReasonProtocol && !d.TCP && ignored < 64 {
			// Not a reply to our query (or not DNS at all): ignore it, so
			// a stray or spoofed datagram cannot decide the check.
			ignored++
			lastBad = err
			continue
		}
		if err != nil {
			return fail(ctx, "dns", target, reason, err)
		}
		return nil
	}
}

// evalDNSReply parses reply and checks it answers q with every expected
// value. ReasonProtocol means the datagram is not a reply to q. It never
// panics.
func evalDNSReply(q *dns.Msg, reply []byte, expect []string) (Reason, error) {
	r := new(dns.Msg)
	if err := r.Unpack(reply); err != nil {
		return ReasonProtocol, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if r.Id != q.Id || !r.Response || len(r.Question) != 1 ||
		!strings.EqualFold(r.Question[0].Name, q.Question[0].Name) ||
		r.Question[0].Qtype != q.Question[0].Qtype || r.Question[0].Qclass != q.Question[0].Qclass {
		return ReasonProtocol, fmt.Errorf("id %d: %w", r.Id, errWrongID)
	}
	if r.Rcode != dns.RcodeSuccess {
		return ReasonStatus, &StatusError{Code: r.Rcode, Want: "NOERROR", Text: dns.RcodeToString[r.Rcode]}
	}
	var got []string
	for _, rr := range r.Answer {
		if rr == nil || rr.Header().Rrtype != q.Question[0].Qtype {
			continue
		}
		got = append(got, rrValue(rr))
	}
	if len(got) == 0 {
		return ReasonAnswer, &AnswerError{}
	}
	var missing []string
	for _, want := range expect {
		found := false
		for _, g := range got {
			if answerEqual(g, want) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return ReasonAnswer, &AnswerError{Missing: missing, Got: got}
	}
	return 0, nil
}

// rrValue returns the comparable value of an answer.
func rrValue(rr dns.RR) string {
	switch v := rr.(type) {
	case *dns.A:
		return v.A.String()
	case *dns.AAAA:
		return v.AAAA.String()
	case *dns.CNAME:
		return v.Target
	case *dns.NS:
		return v.Ns
	case *dns.PTR:
		return v.Ptr
	case *dns.MX:
		return v.Mx
	case *dns.TXT:
		return strings.Join(v.Txt, "")
	case *dns.SOA:
		return v.Ns
	}
	s := rr.String()
	return strings.TrimPrefix(s, rr.Header().String())
}

func answerEqual(got, want string) bool {
	if a, err := netip.ParseAddr(got); err == nil {
		b, err := netip.ParseAddr(want)
		return err == nil && a.Unmap() == b.Unmap()
	}
	return strings.EqualFold(strings.TrimSuffix(got, "."), strings.TrimSuffix(want, "."))
}
