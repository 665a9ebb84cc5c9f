package check

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
)

// TLS checks that a TLS handshake with Addr completes: a TCP_CHECK that also
// proves the server's TLS stack (and, unless Config.InsecureSkipVerify, its
// certificate) works. Use HTTP with a non-nil TLS field for SSL_GET, and
// [SSL] for keepalived's SSL {} block.
//
// With TLS 1.3 a server rejects a client certificate only after the client
// has finished its side of the handshake, so this handshake-only check
// passes against a server that refuses the client's certificate; HTTP,
// which reads a reply, fails with ReasonTLS.
type TLS struct {
	// Addr is the server's address and port. Required.
	Addr netip.AddrPort
	// Config is the client configuration (roots, verification, client
	// certificates, SNI). If nil, a zero tls.Config, which verifies the
	// certificate against the system roots for the address in Addr. It is
	// cloned, never modified.
	Config *tls.Config
	// Bind and Interface select the local address and device, as in TCP.
	Bind      netip.AddrPort
	Interface string
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (t TLS) Validate() error { return configError("tls", t.validate()) }

func (t TLS) validate() error {
	return validAddrPort("address", t.Addr)
}

// CheckKey returns t itself; configurations compare by pointer.
func (t TLS) CheckKey() any { return t }

// Check connects and performs the handshake.
func (t TLS) Check(ctx context.Context) error {
	target := t.Addr.String()
	if err := t.validate(); err != nil {
		return fail(ctx, "tls", target, ReasonConfig, err)
	}
	raw, release, err := connect(ctx, "tcp", target, t.Bind, t.Interface)
	if err != nil {
		return fail(ctx, "tls", target, ReasonConnect, err)
	}
	defer release()
	resetOnClose(raw)
	tc := tls.Client(raw, clientConfig(t.Config, "", t.Addr.Addr()))
	if err := tc.HandshakeContext(ctx); err != nil {
		return fail(ctx, "tls", target, ReasonTLS, err)
	}
	return nil
}

// clientConfig returns a clone of base (a zero Config if base is nil). If
// its ServerName is unset, it becomes host without its port or, when host is
// empty, addr without its zone.
func clientConfig(base *tls.Config, host string, addr netip.Addr) *tls.Config {
	cfg := base.Clone()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	if cfg.ServerName != "" {
		return cfg
	}
	switch name, _, err := net.SplitHostPort(host); {
	case host == "":
		cfg.ServerName = addr.WithZone("").String()
	case err == nil:
		cfg.ServerName = name
	default:
		cfg.ServerName = host
	}
	return cfg
}
