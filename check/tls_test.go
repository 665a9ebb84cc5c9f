package check

import (
	"crypto/tls"
	"net"
	"net/netip"
	"testing"
	"time"
)

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	l, err := tls.Listen("tcp4", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pki.server}})
	if err != nil {
		t.Fatal(err)
	}
	serve(t, l, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.(*tls.Conn).Handshake()
	})
	addr := addrPort(t, l.Addr())
	garbage := hostile(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n")) })
	tests := []struct {
		name   string
		c      TLS
		reason Reason
	}{
		{"verified", TLS{Addr: addr, Config: &tls.Config{RootCAs: pki.pool}}, 0},
		{"verified by name", TLS{Addr: addr, Config: &tls.Config{RootCAs: pki.pool, ServerName: "www.example.com"}}, 0},
		{"system roots", TLS{Addr: addr}, ReasonTLS},
		{"verify off", TLS{Addr: addr, Config: &tls.Config{InsecureSkipVerify: true}}, 0},
		{"not tls", TLS{Addr: garbage, Config: &tls.Config{InsecureSkipVerify: true}}, ReasonTLS},
		{"refused", TLS{Addr: closedPort(t, "tcp")}, ReasonConnect},
		{"invalid", TLS{}, ReasonConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, tt.c.Check(ctxTimeout(t, 5*time.Second)), tt.reason, nil)
		})
	}
}

func TestClientConfigServerName(t *testing.T) {
	base := &tls.Config{ServerName: "set.example.com"}
	tests := []struct {
		name string
		base *tls.Config
		host string
		addr string
		want string
	}{
		{"address", nil, "", "192.0.2.1", "192.0.2.1"},
		{"link-local address without zone", nil, "", "fe80::1%eth0", "fe80::1"},
		{"host", nil, "www.example.com", "192.0.2.1", "www.example.com"},
		{"host and port", nil, "www.example.com:8443", "192.0.2.1", "www.example.com"},
		{"bracketed IPv6 host and port", nil, "[2001:db8::1]:8443", "192.0.2.1", "2001:db8::1"},
		{"configured name wins", base, "www.example.com", "192.0.2.1", "set.example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientConfig(tt.base, tt.host, netip.MustParseAddr(tt.addr))
			if cfg.ServerName != tt.want {
				t.Errorf("ServerName = %q, want %q", cfg.ServerName, tt.want)
			}
			if cfg == tt.base {
				t.Error("the base configuration was not cloned")
			}
		})
	}
	if base.ServerName != "set.example.com" {
		t.Errorf("base modified: ServerName %q", base.ServerName)
	}
}
