package check

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello, world\n") })
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "broken", 500) })
	mux.HandleFunc("/404", http.NotFound)
	mux.HandleFunc("/vhost", func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "www.example.com" {
			http.Error(w, "wrong host "+r.Host, http.StatusMisdirectedRequest)
			return
		}
		io.WriteString(w, "vhost ok")
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "part one,")
		w.(http.Flusher).Flush()
		io.WriteString(w, "part two")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 100000)) })
	mux.HandleFunc("/proto", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })
	return mux
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	addr := addrPort(t, srv.Listener.Addr())
	hello := Digest([]byte("hello, world\n"))
	tests := []struct {
		name   string
		h      HTTP
		reason Reason
		detail error // errors.As target type, optional
	}{
		{name: "default", h: HTTP{}},
		{name: "status range", h: HTTP{Path: "/500", Status: []StatusRange{{200, 299}, {500, 503}}}},
		{name: "status mismatch", h: HTTP{Path: "/500"}, reason: ReasonStatus, detail: &StatusError{}},
		{name: "exact 404", h: HTTP{Path: "/404", Status: []StatusRange{{404, 404}}}},
		{name: "digest", h: HTTP{Digest: hello}},
		{name: "digest upper case", h: HTTP{Digest: strings.ToUpper(hello)}},
		{name: "digest mismatch", h: HTTP{Digest: Digest([]byte("other"))}, reason: ReasonDigest, detail: &DigestError{}},
		{name: "regex", h: HTTP{Regex: regexp.MustCompile(`^hello, w.rld`)}},
		{name: "regex mismatch", h: HTTP{Regex: regexp.MustCompile(`goodbye`)}, reason: ReasonRegex},
		{name: "regex no match", h: HTTP{Regex: regexp.MustCompile(`goodbye`), RegexNoMatch: true}},
		{name: "regex no match fails", h: HTTP{Regex: regexp.MustCompile(`hello`), RegexNoMatch: true}, reason: ReasonRegex},
		{name: "virtualhost", h: HTTP{Path: "/vhost", Host: "www.example.com", Digest: Digest([]byte("vhost ok"))}},
		{name: "wrong virtualhost", h: HTTP{Path: "/vhost"}, reason: ReasonStatus},
		{name: "http/1.0 by default", h: HTTP{Path: "/proto", Digest: Digest([]byte("HTTP/1.0"))}},
		{name: "http/1.1", h: HTTP{Path: "/proto", HTTP11: true, Digest: Digest([]byte("HTTP/1.1"))}},
		{name: "chunked http/1.1", h: HTTP{Path: "/chunked", HTTP11: true, Digest: Digest([]byte("part one,part two"))}},
		{name: "unchunked http/1.0", h: HTTP{Path: "/chunked", Digest: Digest([]byte("part one,part two"))}},
		{name: "body within bound", h: HTTP{Path: "/big", Digest: Digest(bytes.Repeat([]byte("x"), 100000))}},
		{name: "body too large", h: HTTP{Path: "/big", Digest: hello, MaxBodyBytes: 1000}, reason: ReasonTooLarge},
		{name: "chunked too large", h: HTTP{Path: "/big", HTTP11: true, Regex: regexp.MustCompile("x"), MaxBodyBytes: 1000}, reason: ReasonTooLarge},
		{name: "header too large", h: HTTP{MaxHeaderBytes: 20}, reason: ReasonTooLarge},
		{name: "bad digest config", h: HTTP{Digest: "xyz"}, reason: ReasonConfig},
		{name: "bad status config", h: HTTP{Status: []StatusRange{{300, 200}}}, reason: ReasonConfig},
		{name: "bad path", h: HTTP{Path: "/a b"}, reason: ReasonConfig},
		{name: "relative path", h: HTTP{Path: "health"}, reason: ReasonConfig},
		{name: "bad host", h: HTTP{Host: "a/b"}, reason: ReasonConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			h.Addr = addr
			err := h.Check(ctxTimeout(t, 5*time.Second))
			checkResult(t, err, tt.reason, tt.detail)
		})
	}
	t.Run("refused", func(t *testing.T) {
		err := (&HTTP{Addr: closedPort(t, "tcp")}).Check(ctxTimeout(t, 5*time.Second))
		checkResult(t, err, ReasonConnect, nil)
	})
	t.Run("ipv6", func(t *testing.T) {
		l := listenTCP(t, "tcp6")
		s := httptest.NewUnstartedServer(testMux())
		s.Listener.Close()
		s.Listener = l
		s.Start()
		t.Cleanup(s.Close)
		err := (&HTTP{Addr: addrPort(t, l.Addr()), Digest: hello}).Check(ctxTimeout(t, 5*time.Second))
		checkResult(t, err, 0, nil)
	})
}

// checkResult fails the test unless err has the wanted reason (0: nil error)
// and, if detail is non-nil, wraps an error of detail's type.
func checkResult(t *testing.T, err error, reason Reason, detail error) {
	t.Helper()
	if reason == 0 {
		if err != nil {
			t.Fatalf("Check = %v, want success", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("Check succeeded, want reason %v", reason)
	}
	if got := ReasonOf(err); got != reason {
		t.Fatalf("Check = %v (reason %v), want reason %v", err, got, reason)
	}
	if detail != nil {
		target := reflect.New(reflect.TypeOf(detail)) // a pointer to a variable of detail's type
		if !errors.As(err, target.Interface()) {
			t.Fatalf("%v: no %T", err, detail)
		}
	}
}

func TestHTTPS(t *testing.T) {
	pki := newTestPKI(t)
	var mu sync.Mutex
	var sni []string
	srv := httptest.NewUnstartedServer(testMux())
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, hi.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	mtls := httptest.NewUnstartedServer(testMux())
	mtls.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pki.pool}
	mtls.StartTLS()
	t.Cleanup(mtls.Close)
	mtls.Config.ErrorLog = discardLog()
	srv.Config.ErrorLog = discardLog()

	addr, maddr := addrPort(t, srv.Listener.Addr()), addrPort(t, mtls.Listener.Addr())
	hello := Digest([]byte("hello, world\n"))
	tests := []struct {
		name   string
		h      HTTP
		reason Reason
	}{
		{"verified by ip", HTTP{Addr: addr, TLS: &tls.Config{RootCAs: pki.pool}, Digest: hello}, 0},
		{"verified by virtualhost", HTTP{Addr: addr, Host: "www.example.com", Path: "/vhost", TLS: &tls.Config{RootCAs: pki.pool}}, 0},
		{"virtualhost with port", HTTP{Addr: addr, Host: "www.example.com:443", TLS: &tls.Config{RootCAs: pki.pool}}, 0},
		{"unknown ca", HTTP{Addr: addr, TLS: &tls.Config{}}, ReasonTLS},
		{"wrong name", HTTP{Addr: addr, TLS: &tls.Config{RootCAs: pki.pool, ServerName: "other.example.com"}}, ReasonTLS},
		{"verify off", HTTP{Addr: addr, TLS: &tls.Config{InsecureSkipVerify: true}, Digest: hello}, 0},
		{"client cert", HTTP{Addr: maddr, TLS: &tls.Config{RootCAs: pki.pool, Certificates: []tls.Certificate{pki.client}}, Digest: hello}, 0},
		{"client cert missing", HTTP{Addr: maddr, TLS: &tls.Config{RootCAs: pki.pool}}, ReasonTLS},
		{"plain http to https", HTTP{Addr: addr}, ReasonStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.h.TLS
			var before *tls.Config
			if cfg != nil {
				before = cfg.Clone()
			}
			err := tt.h.Check(ctxTimeout(t, 5*time.Second))
			checkResult(t, err, tt.reason, nil)
			if cfg != nil && (cfg.ServerName != before.ServerName || len(cfg.Certificates) != len(before.Certificates)) {
				t.Error("caller's tls.Config was modified")
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sni) < 3 {
		t.Fatalf("SNI of %d handshakes recorded, want at least 3", len(sni))
	}
	if diff := cmp.Diff([]string{"", "www.example.com", "www.example.com"}, sni[:3]); diff != "" {
		t.Errorf("SNI sent (-want +got):\n%s", diff)
	}
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// hostile starts a raw TCP server running h for each connection.
func hostile(t *testing.T, h func(net.Conn)) netip.AddrPort {
	l := listenTCP(t, "tcp4")
	serve(t, l, h)
	return addrPort(t, l.Addr())
}

// writeFor writes chunk repeatedly until the peer goes away, at most n times.
func writeFor(c net.Conn, chunk []byte, n int) {
	for range n {
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(chunk); err != nil {
			return
		}
	}
}

func TestHTTPHostileServers(t *testing.T) {
	big := bytes.Repeat([]byte("A"), 64<<10)
	drain := func(c net.Conn) { c.SetReadDeadline(time.Now().Add(time.Second)); c.Read(make([]byte, 4096)) }
	tests := []struct {
		name   string
		h      HTTP
		server func(net.Conn)
		reason Reason
	}{
		{"huge status line", HTTP{}, func(c net.Conn) { drain(c); c.Write([]byte("HTTP/1.0 200 ")); writeFor(c, big, 1000) }, ReasonTooLarge},
		{"endless headers", HTTP{}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n"))
			writeFor(c, bytes.Repeat([]byte("X-A: b\r\n"), 1000), 1000)
		}, ReasonTooLarge},
		{"endless body", HTTP{Digest: Digest(nil)}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
			writeFor(c, big, 1000)
		}, ReasonTooLarge},
		{"endless chunks", HTTP{Digest: Digest(nil), HTTP11: true}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
			writeFor(c, append([]byte("10000\r\n"), append(big, "\r\n"...)...), 1000)
		}, ReasonTooLarge},
		{"huge content length", HTTP{Digest: Digest(nil)}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 99999999999\r\n\r\n"))
		}, ReasonTooLarge},
		{"short body", HTTP{Digest: Digest(nil)}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
		}, ReasonProtocol},
		{"slow drip", HTTP{}, func(c net.Conn) {
			drain(c)
			for _, b := range []byte("HTTP/1.0 200 OK\r\n\r\n") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, ReasonTimeout},
		{"silent", HTTP{}, func(c net.Conn) { c.SetReadDeadline(time.Now().Add(3 * time.Second)); io.Copy(io.Discard, c) }, ReasonTimeout},
		{"hang up", HTTP{}, func(c net.Conn) {}, ReasonProtocol},
		{"garbage", HTTP{}, func(c net.Conn) { drain(c); c.Write([]byte("\x16\x03\x01garbage\r\n\r\n")) }, ReasonProtocol},
		{"http/2 preface", HTTP{}, func(c net.Conn) { drain(c); c.Write([]byte("HTTP/2.0 200 OK\r\n\r\n")) }, ReasonProtocol},
		{"garbage tls", HTTP{TLS: &tls.Config{InsecureSkipVerify: true}}, func(c net.Conn) {
			drain(c)
			writeFor(c, bytes.Repeat([]byte{0x16, 0x03, 0x03, 0xff, 0xff}, 100), 10)
		}, ReasonTLS},
		{"tls server speaks http", HTTP{TLS: &tls.Config{InsecureSkipVerify: true}}, func(c net.Conn) {
			drain(c)
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		}, ReasonTLS},
		{"silent tls", HTTP{TLS: &tls.Config{InsecureSkipVerify: true}}, func(c net.Conn) {
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			io.Copy(io.Discard, c)
		}, ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.h
			h.Addr = hostile(t, tt.server)
			err := h.Check(ctxTimeout(t, time.Second))
			checkResult(t, err, tt.reason, nil)
		})
	}
}

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in      string
		want    []StatusRange
		wantErr bool
	}{
		{"200", []StatusRange{{200, 200}}, false},
		{"200-299 400-499 503 505", []StatusRange{{200, 299}, {400, 499}, {503, 503}, {505, 505}}, false},
		{"200,301", []StatusRange{{200, 200}, {301, 301}}, false},
		{"", nil, true},
		{"abc", nil, true},
		{"299-200", nil, true},
		{"99", nil, true},
		{"200-1000", nil, true},
		{"200-", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseStatusRanges(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseStatusRanges(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParseStatusRanges(%q) (-want +got):\n%s", tt.in, diff)
		}
		if err == nil {
			if s := statusWant(got); s != strings.Join(strings.FieldsFunc(tt.in, func(r rune) bool { return r == ',' || r == ' ' }), " ") {
				t.Errorf("statusWant = %q", s)
			}
		}
	}
}

func TestParseResponseHead(t *testing.T) {
	tests := []struct {
		in      string
		want    responseHead
		wantErr bool
	}{
		{"HTTP/1.0 200 OK\r\n\r\n", responseHead{1, 0, 200, "OK", -1, false}, false},
		{"HTTP/1.1 404\r\n\r\n", responseHead{1, 1, 404, "", -1, false}, false},
		{"HTTP/1.1 200 OK\nContent-Length: 5\n\n", responseHead{1, 1, 200, "OK", 5, false}, false},
		{"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nContent-Length: 5\r\n\r\n", responseHead{1, 1, 200, "OK", 5, false}, false},
		{"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n", responseHead{1, 1, 200, "OK", -1, true}, false},
		{"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", responseHead{1, 0, 200, "OK", -1, false}, false},
		{"HTTP/1.1 200 OK\r\nX: a\r\n continued\r\n\r\n", responseHead{1, 1, 200, "OK", -1, false}, false},
		{"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 20x OK\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 099 OK\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1 200OK\r\n\r\n", responseHead{}, true},
		{"HTTP/2.0 200 OK\r\n\r\n", responseHead{}, true},
		{"HTTP/1.1\r\n\r\n", responseHead{}, true},
		{"SMTP/1.1 200 OK\r\n\r\n", responseHead{}, true},
		{"", responseHead{}, true},
	}
	for _, tt := range tests {
		got, err := parseResponseHead([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("parse(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("parse(%q) error %v does not wrap ErrMalformed", tt.in, err)
			}
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parse(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestDigestGenhash(t *testing.T) {
	// Values computed with `printf 'hello, world\n' | md5sum`, which is what
	// genhash prints for a server returning that body.
	for body, want := range map[string]string{
		"":               "d41d8cd98f00b204e9800998ecf8427e",
		"hello, world\n": "22c3683b094136c3398391ae71b20f04",
	} {
		if got := Digest([]byte(body)); got != want {
			t.Errorf("Digest(%q) = %s, want %s", body, got, want)
		}
	}
}

func TestHTTPCheckKey(t *testing.T) {
	a := &HTTP{Path: "/", Status: []StatusRange{{200, 299}}, Regex: regexp.MustCompile("a")}
	b := &HTTP{Path: "/", Status: []StatusRange{{200, 299}}, Regex: regexp.MustCompile("a")}
	c := &HTTP{Path: "/", Status: []StatusRange{{200, 200}}}
	if a.CheckKey() != b.CheckKey() {
		t.Error("equal checks, different keys")
	}
	if a.CheckKey() == c.CheckKey() {
		t.Error("different checks, equal keys")
	}
}

func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.0 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 301 Moved\r\nLocation: /x\r\n folded\r\n\r\n",
		"HTTP/1.1 200",
		"\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseResponseHead(b)
		if err != nil {
			return
		}
		if h.Code < 100 || h.Code > 999 || h.Major != 1 {
			t.Fatalf("accepted bad head %+v", h)
		}
		if h.Chunked && h.ContentLength != -1 {
			t.Fatalf("chunked with content length: %+v", h)
		}
	})
}

func FuzzParseStatusRanges(f *testing.F) {
	f.Add("200-299 400-499 503")
	f.Add("200,201")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatusRanges(s)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Min < 100 || r.Max > 999 || r.Min > r.Max {
				t.Fatalf("accepted bad range %v", r)
			}
		}
		again, err := ParseStatusRanges(statusWant(rs))
		if err != nil || !cmp.Equal(rs, again) {
			t.Fatalf("round trip of %q: %v %v", s, again, err)
		}
	})
}

var _ = fmt.Sprint

func FuzzHTTPResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.0 200 OK\r\n\r\nhello, world\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nhello, world\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nd\r\nhello, world\n\r\n0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n",
		"HTTP/1.1 500 Oops\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	h := &HTTP{Digest: Digest([]byte("hello, world\n")), Regex: regexp.MustCompile("w.rld"), MaxHeaderBytes: 256, MaxBodyBytes: 64}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		reason, err := h.evalResponse(bufio.NewReaderSize(r, 64))
		if (reason == 0) != (err == nil) {
			t.Fatalf("reason %v with error %v", reason, err)
		}
		// Header bound, plus at most 64 body bytes each framed by a chunk
		// line no longer than the reader's buffer, plus the buffer.
		if consumed := len(b) - r.Len(); consumed > 256+64*(64+4)+128 {
			t.Fatalf("read %d bytes, beyond the bounds", consumed)
		}
	})
}

func BenchmarkParseResponseHead(b *testing.B) {
	head := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nDate: Wed, 25 Nov 2026 07:00:00 GMT\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseResponseHead(head); err != nil {
			b.Fatal(err)
		}
	}
}

func TestHTTPEndlessBodyBoundedMemory(t *testing.T) {
	chunk := bytes.Repeat([]byte("A"), 64<<10)
	addr := hostile(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(time.Second))
		c.Read(make([]byte, 4096))
		c.Write([]byte("HTTP/1.0 200 OK\r\n\r\n"))
		writeFor(c, chunk, 1024) // up to 64 MiB
	})
	for _, h := range []*HTTP{
		{Addr: addr, Digest: Digest(nil)},
		{Addr: addr, Regex: regexp.MustCompile("B")},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := h.Check(ctxTimeout(t, 10*time.Second))
		runtime.ReadMemStats(&after)
		checkResult(t, err, ReasonTooLarge, nil)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("check allocated %d bytes reading an endless body (bound %d)", alloc, DefaultMaxBodyBytes)
		}
	}
}

func TestHTTPHostHeader(t *testing.T) {
	tests := []struct {
		h    HTTP
		want string
	}{
		{HTTP{Addr: netip.MustParseAddrPort("192.0.2.1:80")}, "192.0.2.1"},
		{HTTP{Addr: netip.MustParseAddrPort("192.0.2.1:443")}, "192.0.2.1:443"},
		{HTTP{Addr: netip.MustParseAddrPort("192.0.2.1:443"), TLS: &tls.Config{}}, "192.0.2.1"},
		{HTTP{Addr: netip.MustParseAddrPort("[fe80::1%eth0]:8080")}, "[fe80::1]:8080"},
		{HTTP{Addr: netip.MustParseAddrPort("192.0.2.1:8080"), Host: "www.example.com"}, "www.example.com"},
	}
	for _, tt := range tests {
		if got := tt.h.hostHeader(); got != tt.want {
			t.Errorf("hostHeader(%v, tls %v, host %q) = %q, want %q", tt.h.Addr, tt.h.TLS != nil, tt.h.Host, got, tt.want)
		}
	}
}
