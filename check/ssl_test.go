package check

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// tlsServer serves TLS handshakes (and an HTTP 200) on loopback with cert;
// with clientCAs it requires a client certificate from them.
func tlsServer(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool) netip.AddrPort {
	t.Helper()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	if clientCAs != nil {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, clientCAs
	}
	l, err := tls.Listen("tcp4", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, l, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if c.(*tls.Conn).Handshake() != nil {
			return
		}
		buf := make([]byte, 4096)
		c.Read(buf)
		fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	return addrPort(t, l.Addr())
}

func TestSSL(t *testing.T) {
	pki, other := newTestPKI(t), newTestPKI(t)
	plain := tlsServer(t, pki.server, nil)
	elsewhere := tlsServer(t, pki.elsewhere, nil)
	mutual := tlsServer(t, pki.server, pki.pool)
	clientCert, clientKey := pemPair(t, pki.client)
	otherCert, otherKey := pemPair(t, other.client)
	tests := []struct {
		name   string
		addr   netip.AddrPort
		ssl    SSLConfig
		reason Reason
		// clientRejected: with TLS 1.3 the server rejects a client
		// certificate after the client's handshake is done, so only a
		// check that reads (HTTP) sees it; the handshake-only TLS check
		// is run over TLS 1.2 for these rows.
		clientRejected bool
	}{
		{"no ca: not verified", plain, SSLConfig{}, 0, false},
		{"no ca, other CA's server", elsewhere, SSLConfig{}, 0, false},
		{"ca verifies", plain, SSLConfig{CA: pki.caPEM}, 0, false},
		{"wrong ca", plain, SSLConfig{CA: other.caPEM}, ReasonTLS, false},
		// keepalived (OpenSSL without a host name) checks the chain, not
		// the name: a certificate for another name passes.
		{"ca, name not compared", elsewhere, SSLConfig{CA: pki.caPEM}, 0, false},
		{"ca and server name", plain, SSLConfig{CA: pki.caPEM, ServerName: "www.example.com"}, 0, false},
		{"ca and wrong server name", elsewhere, SSLConfig{CA: pki.caPEM, ServerName: "www.example.com"}, ReasonTLS, false},
		{"client cert required, none", mutual, SSLConfig{CA: pki.caPEM}, ReasonTLS, true},
		{"client cert", mutual, SSLConfig{CA: pki.caPEM, Certificate: clientCert, Key: clientKey}, 0, false},
		{"client cert with key in the same file", mutual, SSLConfig{Certificate: append(clientCert, clientKey...)}, 0, false},
		{"client cert of another CA", mutual, SSLConfig{Certificate: otherCert, Key: otherKey}, ReasonTLS, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.ssl.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			h := &HTTP{Addr: tt.addr, TLS: cfg}
			if tt.clientRejected {
				cfg = cfg.Clone()
				cfg.MaxVersion = tls.VersionTLS12
			}
			checkResult(t, TLS{Addr: tt.addr, Config: cfg}.Check(ctxTimeout(t, 5*time.Second)), tt.reason, nil)
			checkResult(t, h.Check(ctxTimeout(t, 5*time.Second)), tt.reason, nil)
		})
	}
	t.Run("wrong ca is a verification error", func(t *testing.T) {
		cfg, err := SSLConfig{CA: other.caPEM}.TLSConfig()
		if err != nil {
			t.Fatal(err)
		}
		var ve *tls.CertificateVerificationError
		if err := (TLS{Addr: plain, Config: cfg}).Check(ctxTimeout(t, 5*time.Second)); !errors.As(err, &ve) {
			t.Errorf("Check = %v, want a *tls.CertificateVerificationError", err)
		}
	})
}

// Bad SSL blocks fail when the configuration is built, never during a
// check.
func TestSSLConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	cert, key := pemPair(t, pki.client)
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1, 2, 3}})
	legacy := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Headers: map[string]string{
		"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00000000000000000000000000000000"}, Bytes: []byte{1, 2, 3}})
	_, otherKey := pemPair(t, newTestPKI(t).client)
	tests := []struct {
		name string
		ssl  SSLConfig
		want error
	}{
		{"ca without certificate", SSLConfig{CA: []byte("not PEM")}, ErrInvalidConfig},
		{"key without certificate", SSLConfig{Key: key}, ErrInvalidConfig},
		{"certificate without key", SSLConfig{Certificate: cert}, ErrInvalidConfig},
		{"key of another certificate", SSLConfig{Certificate: cert, Key: otherKey}, ErrInvalidConfig},
		{"pkcs8 encrypted key", SSLConfig{Certificate: cert, Key: encrypted}, ErrNotSupported},
		{"legacy encrypted key", SSLConfig{Certificate: cert, Key: legacy}, ErrNotSupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.ssl.TLSConfig()
			if !errors.Is(err, tt.want) {
				t.Fatalf("TLSConfig = %v, %v; want an error wrapping %v", cfg, err, tt.want)
			}
		})
	}
}

// SSL reads keepalived's files.
func TestSSLFiles(t *testing.T) {
	pki := newTestPKI(t)
	dir := t.TempDir()
	cert, key := pemPair(t, pki.client)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	s := SSL{CA: write("ca.pem", pki.caPEM), Certificate: write("client.pem", cert), Key: write("client.key", key)}
	cfg, err := s.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	mutual := tlsServer(t, pki.server, pki.pool)
	checkResult(t, TLS{Addr: mutual, Config: cfg}.Check(ctxTimeout(t, 5*time.Second)), 0, nil)
	s.Key = filepath.Join(dir, "missing.key")
	if _, err := s.TLSConfig(); !errors.Is(err, ErrInvalidConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing key file: %v, want ErrInvalidConfig and ErrNotExist", err)
	}
}
