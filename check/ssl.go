package check

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// SSL is keepalived's SSL {} block, which configures every SSL_GET: ca,
// certificate and key are PEM files. [SSL.TLSConfig] turns it into the
// tls.Config for [HTTP].TLS or [TLS].Config.
//
// Without CA the server's certificate is not verified, as keepalived does
// not verify it. With CA the server must present a chain to one of its
// certificates, valid now and for server authentication; as with
// keepalived (OpenSSL without a host name set), the name in the certificate
// is not compared with the address checked, unless ServerName is set.
//
// With Certificate the checker presents it as its client certificate, with
// the private key from Key or, when Key is empty, from the certificate
// file. Password-protected keys (keepalived's password) are not supported:
// Go has no safe decryption for the legacy PEM encryption, so TLSConfig
// fails on an encrypted key, with or without Password.
type SSL struct {
	CA          string // ca: file of trusted CA certificates
	Certificate string // certificate: client certificate chain file
	Key         string // key: client private key file
	// Password is keepalived's password for an encrypted key. It is only
	// accepted for a key that is not encrypted (where it is not needed).
	Password string
	// ServerName, if set, is also sent as SNI and must match the server's
	// certificate (not a keepalived option).
	ServerName string
}

// TLSConfig reads the files and returns the client configuration. Errors
// wrap [ErrInvalidConfig] (or [ErrNotSupported] for an encrypted key) and
// happen here, at configuration time, never during a check.
func (s SSL) TLSConfig() (*tls.Config, error) {
	var ca, cert, key []byte
	var err error
	read := func(what, path string) []byte {
		if path == "" || err != nil {
			return nil
		}
		b, e := os.ReadFile(path)
		if e != nil {
			err = fmt.Errorf("check: ssl %s: %w: %w", what, e, ErrInvalidConfig)
		}
		return b
	}
	ca = read("ca", s.CA)
	cert = read("certificate", s.Certificate)
	key = read("key", s.Key)
	if err != nil {
		return nil, err
	}
	return SSLConfig{CA: ca, Certificate: cert, Key: key, ServerName: s.ServerName}.TLSConfig()
}

// SSLConfig is [SSL] with the PEM contents instead of file names.
type SSLConfig struct {
	CA          []byte // PEM CA certificates; if empty, no verification
	Certificate []byte // PEM client certificate chain; optional
	Key         []byte // PEM client key; if empty, taken from Certificate
	ServerName  string // see SSL.ServerName
}

// TLSConfig returns the client configuration; see [SSL].
func (s SSLConfig) TLSConfig() (*tls.Config, error) {
	// Verification is done by VerifyConnection; crypto/tls's own would
	// also compare the name.
	cfg := &tls.Config{InsecureSkipVerify: true, ServerName: s.ServerName} //nolint:gosec // verified below
	if len(s.CA) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(s.CA) {
			return nil, fmt.Errorf("check: ssl ca: no PEM certificate found: %w", ErrInvalidConfig)
		}
		name := s.ServerName
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyChain(pool, name, cs.PeerCertificates)
		}
	}
	switch {
	case len(s.Certificate) > 0:
		key := s.Key
		if len(key) == 0 {
			key = s.Certificate
		}
		if encryptedPEM(key) {
			return nil, fmt.Errorf("check: ssl key is password-protected, which Go cannot decrypt safely: %w", ErrNotSupported)
		}
		c, err := tls.X509KeyPair(s.Certificate, key)
		if err != nil {
			return nil, fmt.Errorf("check: ssl certificate and key: %w: %w", err, ErrInvalidConfig)
		}
		cfg.Certificates = []tls.Certificate{c}
	case len(s.Key) > 0:
		return nil, fmt.Errorf("check: ssl key without certificate: %w", ErrInvalidConfig)
	}
	return cfg, nil
}

// verifyChain verifies the server's chain against roots and, if name is
// set, its name.
func verifyChain(roots *x509.CertPool, name string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("server sent no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool(), DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, c := range chain[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := chain[0].Verify(opts); err != nil {
		return &tls.CertificateVerificationError{UnverifiedCertificates: chain, Err: err}
	}
	return nil
}

// encryptedPEM reports whether b holds a password-protected private key.
func encryptedPEM(b []byte) bool {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return false
		}
		if blk.Type == "ENCRYPTED PRIVATE KEY" ||
			strings.HasSuffix(blk.Type, "PRIVATE KEY") && strings.Contains(blk.Headers["Proc-Type"], "ENCRYPTED") {
			return true
		}
	}
}
