package check

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// dnsResponder answers each UDP query with the datagrams reply returns.
func dnsResponder(t *testing.T, reply func(q *dns.Msg) [][]byte) netip.AddrPort {
	t.Helper()
	return udpServer(t, func(b []byte) [][]byte {
		q := new(dns.Msg)
		if q.Unpack(b) != nil {
			return nil
		}
		return reply(q)
	})
}

// dnsTCPResponder answers each TCP query with one framed reply.
func dnsTCPResponder(t *testing.T, reply func(q *dns.Msg) []byte) netip.AddrPort {
	l := listenTCP(t, "tcp4")
	serve(t, l, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var l [2]byte
		if _, err := io.ReadFull(c, l[:]); err != nil {
			return
		}
		b := make([]byte, binary.BigEndian.Uint16(l[:]))
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		q := new(dns.Msg)
		if q.Unpack(b) != nil {
			return
		}
		r := reply(q)
		c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(r))), r...))
	})
	return addrPort(t, l.Addr())
}

func answer(q *dns.Msg, rcode int, rrs ...string) *dns.Msg {
	r := new(dns.Msg)
	r.SetRcode(q, rcode)
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		r.Answer = append(r.Answer, rr)
	}
	return r
}

func pack(m *dns.Msg) []byte {
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

func TestDNS(t *testing.T) {
	zone := func(q *dns.Msg) *dns.Msg {
		name := q.Question[0].Name
		switch q.Question[0].Qtype {
		case dns.TypeA:
			if name == "www.example.com." {
				return answer(q, dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.10", "www.example.com. 60 IN A 192.0.2.11")
			}
			if name == "alias.example.com." {
				return answer(q, dns.RcodeSuccess, "alias.example.com. 60 IN CNAME www.example.com.", "www.example.com. 60 IN A 192.0.2.10")
			}
		case dns.TypeAAAA:
			return answer(q, dns.RcodeSuccess, name+" 60 IN AAAA 2001:db8::1")
		case dns.TypeSOA:
			return answer(q, dns.RcodeSuccess, ". 60 IN SOA ns.example.com. admin.example.com. 1 2 3 4 5")
		case dns.TypeTXT:
			return answer(q, dns.RcodeSuccess, `txt.example.com. 60 IN TXT "v=ok" "2"`)
		case dns.TypeMX:
			return answer(q, dns.RcodeSuccess, "example.com. 60 IN MX 10 mx.example.com.")
		case dns.TypeNS:
			return answer(q, dns.RcodeSuccess) // NODATA
		case dns.TypeSRV:
			return answer(q, dns.RcodeSuccess, "_x._tcp.example.com. 60 IN SRV 1 2 3 t.example.com.")
		}
		return answer(q, dns.RcodeNameError)
	}
	udp := dnsResponder(t, func(q *dns.Msg) [][]byte { return [][]byte{pack(zone(q))} })
	tcp := dnsTCPResponder(t, func(q *dns.Msg) []byte { return pack(zone(q)) })
	tests := []struct {
		name   string
		d      DNS
		reason Reason
		detail error
	}{
		{"soa default", DNS{}, 0, nil},
		{"a", DNS{Name: "www.example.com", Type: dns.TypeA}, 0, nil},
		{"a expected", DNS{Name: "www.example.com.", Type: dns.TypeA, Expect: []string{"192.0.2.11", "192.0.2.10"}}, 0, nil},
		{"a missing", DNS{Name: "www.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.99"}}, ReasonAnswer, &AnswerError{}},
		{"cname chain", DNS{Name: "alias.example.com", Type: dns.TypeA, Expect: []string{"192.0.2.10"}}, 0, nil},
		{"aaaa", DNS{Name: "v6.example.com", Type: dns.TypeAAAA, Expect: []string{"2001:db8::1"}}, 0, nil},
		{"txt", DNS{Name: "txt.example.com", Type: dns.TypeTXT, Expect: []string{"v=ok2"}}, 0, nil},
		{"mx", DNS{Name: "example.com", Type: dns.TypeMX, Expect: []string{"MX.example.com"}}, 0, nil},
		{"srv generic", DNS{Name: "_x._tcp.example.com", Type: dns.TypeSRV}, 0, nil},
		{"nxdomain", DNS{Name: "nope.example.com", Type: dns.TypeA}, ReasonStatus, &StatusError{}},
		{"nxdomain for type", DNS{Name: "www.example.com", Type: dns.TypeCNAME}, ReasonStatus, nil},
		{"nodata", DNS{Name: "example.com", Type: dns.TypeNS}, ReasonAnswer, &AnswerError{}},
		{"bad name", DNS{Name: "a..b"}, ReasonConfig, nil},
	}
	for _, tt := range tests {
		for _, overTCP := range []bool{false, true} {
			name := tt.name + "/udp"
			if overTCP {
				name = tt.name + "/tcp"
			}
			t.Run(name, func(t *testing.T) {
				d := tt.d
				d.Server, d.TCP = udp, overTCP
				if overTCP {
					d.Server = tcp
				}
				checkResult(t, d.Check(ctxTimeout(t, 2*time.Second)), tt.reason, tt.detail)
			})
		}
	}
	t.Run("port unreachable", func(t *testing.T) {
		checkResult(t, (&DNS{Server: closedPort(t, "udp")}).Check(ctxTimeout(t, 2*time.Second)), ReasonUnreachable, nil)
	})
}

func TestDNSHostile(t *testing.T) {
	tests := []struct {
		name   string
		reply  func(q *dns.Msg) [][]byte
		reason Reason
	}{
		{"wrong id only", func(q *dns.Msg) [][]byte {
			r := answer(q, dns.RcodeSuccess, ". 60 IN SOA a. b. 1 2 3 4 5")
			r.Id ^= 0xffff
			return [][]byte{pack(r)}
		}, ReasonTimeout},
		{"wrong id then right", func(q *dns.Msg) [][]byte {
			good := answer(q, dns.RcodeSuccess, ". 60 IN SOA a. b. 1 2 3 4 5")
			bad := good.Copy()
			bad.Id ^= 1
			return [][]byte{pack(bad), []byte("garbage"), pack(good)}
		}, 0},
		{"wrong question", func(q *dns.Msg) [][]byte {
			r := answer(q, dns.RcodeSuccess)
			r.Question[0].Name = "evil.example."
			return [][]byte{pack(r)}
		}, ReasonTimeout},
		{"garbage", func(q *dns.Msg) [][]byte { return [][]byte{[]byte("\x00\x01garbage")} }, ReasonTimeout},
		{"servfail", func(q *dns.Msg) [][]byte { return [][]byte{pack(answer(q, dns.RcodeServerFailure))} }, ReasonStatus},
		{"silent", func(q *dns.Msg) [][]byte { return nil }, ReasonTimeout},
		{"flood of wrong ids", func(q *dns.Msg) [][]byte {
			var out [][]byte
			for i := range 100 {
				r := answer(q, dns.RcodeSuccess)
				r.Id = q.Id + uint16(i) + 1
				out = append(out, pack(r))
			}
			return out
		}, ReasonProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &DNS{Server: dnsResponder(t, tt.reply)}
			checkResult(t, d.Check(ctxTimeout(t, time.Second)), tt.reason, nil)
		})
	}
}

func TestDNSCheckKey(t *testing.T) {
	a := &DNS{Name: "www.example.com", Type: dns.TypeA, Expect: []string{"x"}}
	b := &DNS{Name: "WWW.example.com.", Type: dns.TypeA, Expect: []string{"x"}}
	c := &DNS{Name: "www.example.com", Type: dns.TypeA}
	if a.CheckKey() != b.CheckKey() || a.CheckKey() == c.CheckKey() {
		t.Error("DNS keys do not follow parameters")
	}
	if (&DNS{Expect: []string{"a\x00b"}}).CheckKey() == (&DNS{Expect: []string{"a", "b"}}).CheckKey() ||
		(&DNS{Expect: []string{}}).CheckKey() == (&DNS{Expect: []string{""}}).CheckKey() {
		t.Error("different expected answer lists share a key")
	}
}

func FuzzDNSReply(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("www.example.com.", dns.TypeA)
	q.Id = 4242
	f.Add(pack(answer(q, dns.RcodeSuccess, "www.example.com. 60 IN A 192.0.2.10")))
	f.Add(pack(answer(q, dns.RcodeNameError)))
	f.Add(pack(answer(q, dns.RcodeSuccess, "www.example.com. 60 IN CNAME x.example.com.", "x.example.com. 60 IN A 192.0.2.1")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		reason, err := evalDNSReply(q, b, []string{"192.0.2.10", "x.example.com"})
		if (reason == 0) != (err == nil) {
			t.Fatalf("reason %v with error %v", reason, err)
		}
	})
}
