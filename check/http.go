package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http/httputil"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// Defaults of HTTP.
const (
	DefaultMaxHeaderBytes = 16 << 10
	DefaultMaxBodyBytes   = 1 << 20
)

// HTTP is keepalived's HTTP_GET (TLS nil) and SSL_GET (TLS non-nil): it sends
// one GET request and checks the reply's status code and, optionally, the
// MD5 digest of its body and a regular expression over the body.
//
// The request is HTTP/1.0 (or HTTP/1.1 with "Connection: close"), so the
// digest is taken over the body bytes exactly as the server sent them, which
// is what keepalived's genhash prints ([Digest]). A chunked HTTP/1.1 body is
// de-chunked first.
//
// Reads are bounded by MaxHeaderBytes and MaxBodyBytes; the whole exchange
// is bounded by the context's deadline, so a server that drips bytes slowly
// or sends an endless body fails cleanly.
type HTTP struct {
	// Addr is the server's address and port. Required.
	Addr netip.AddrPort
	// Path is the request target (url path). If empty, "/".
	Path string
	// Host is the Host header (keepalived virtualhost). If empty, the
	// address in Addr. With TLS, it is also the SNI server name unless
	// TLS.ServerName is set.
	Host string
	// Status lists the accepted status codes (status_code). If empty,
	// 200-299 is accepted.
	Status []StatusRange
	// Digest is the expected lowercase hex MD5 digest of the body, as
	// printed by keepalived's genhash. If empty, the body digest is not
	// checked.
	Digest string
	// Regex, if non-nil, must match the body (or, with RegexNoMatch, must
	// not match it).
	Regex        *regexp.Regexp
	RegexNoMatch bool
	// TLS, if non-nil, makes this an HTTPS check with this configuration
	// (verification, client certificates, roots, SNI). It is cloned, never
	// modified. Note that crypto/tls verifies the server's certificate
	// unless InsecureSkipVerify is set, while keepalived's SSL_GET does not
	// verify by default.
	TLS *tls.Config
	// HTTP11 sends an HTTP/1.1 request with "Connection: close" instead of
	// HTTP/1.0 (http_protocol 1.1).
	HTTP11 bool
	// Bind and Interface select the local address and device, as in TCP.
	Bind      netip.AddrPort
	Interface string
	// MaxHeaderBytes bounds the status line and headers. If zero,
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxBodyBytes bounds the body read for the digest or regex. If zero,
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

// String formats r as keepalived does: "200" or "200-299".
func (r StatusRange) String() string {
	if r.Min == r.Max {
		return strconv.Itoa(r.Min)
	}
	return strconv.Itoa(r.Min) + "-" + strconv.Itoa(r.Max)
}

// ParseStatusRanges parses keepalived's status_code syntax: codes and ranges
// separated by spaces or commas, e.g. "200-299 400-499 503".
func ParseStatusRanges(s string) ([]StatusRange, error) {
	var out []StatusRange
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' }) {
		lo, hi, isRange := strings.Cut(f, "-")
		if !isRange {
			hi = lo
		}
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 != nil || err2 != nil || a < 100 || b > 999 || a > b {
			return nil, fmt.Errorf("check: status code %q: %w", f, ErrInvalidConfig)
		}
		out = append(out, StatusRange{a, b})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("check: empty status code list: %w", ErrInvalidConfig)
	}
	return out, nil
}

// Digest returns the lowercase hex MD5 digest of body, the value keepalived's
// genhash prints and HTTP_GET's digest keyword expects.
func Digest(body []byte) string {
	sum := md5.Sum(body)
	return hex.EncodeToString(sum[:])
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (h *HTTP) Validate() error { return configError("http", h.validate()) }

func (h *HTTP) validate() error {
	var errs []error
	if err := validAddrPort("address", h.Addr); err != nil {
		errs = append(errs, err)
	}
	if h.Digest != "" {
		if b, err := hex.DecodeString(h.Digest); err != nil || len(b) != md5.Size {
			errs = append(errs, fmt.Errorf("digest %q is not 32 hex digits: %w", h.Digest, ErrInvalidConfig))
		}
	}
	for _, r := range h.Status {
		if r.Min < 100 || r.Max > 999 || r.Min > r.Max {
			errs = append(errs, fmt.Errorf("status range %v: %w", r, ErrInvalidConfig))
		}
	}
	if strings.ContainsAny(h.Path, " \t\r\n") || strings.ContainsAny(h.Host, " \t\r\n/") {
		errs = append(errs, fmt.Errorf("path or host contains white space: %w", ErrInvalidConfig))
	}
	if h.Path != "" && h.Path[0] != '/' {
		errs = append(errs, fmt.Errorf("path %q does not begin with /: %w", h.Path, ErrInvalidConfig))
	}
	if h.MaxHeaderBytes < 0 || h.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("negative size bound: %w", ErrInvalidConfig))
	}
	return joinErrors(errs)
}

type httpKey struct {
	addr, bind          netip.AddrPort
	path, host, status  string
	digest, regex       string
	regexNoMatch, http1 bool
	tls                 *tls.Config
	iface               string
	maxH                int
	maxB                int64
}

// CheckKey returns a comparable value naming every parameter of h. TLS
// configurations compare by pointer.
func (h *HTTP) CheckKey() any {
	var sb strings.Builder
	for _, r := range h.Status {
		sb.WriteString(r.String())
		sb.WriteByte(' ')
	}
	k := httpKey{addr: h.Addr, bind: h.Bind, path: h.Path, host: h.Host, status: sb.String(),
		digest: strings.ToLower(h.Digest), regexNoMatch: h.RegexNoMatch, http1: h.HTTP11, tls: h.TLS,
		iface: h.Interface, maxH: h.MaxHeaderBytes, maxB: h.MaxBodyBytes}
	if h.Regex != nil {
		k.regex = h.Regex.String()
	}
	return k
}

func (h *HTTP) kind() string {
	if h.TLS != nil {
		return "https"
	}
	return "http"
}

// path returns the request target.
func (h *HTTP) path() string {
	if h.Path == "" {
		return "/"
	}
	return h.Path
}

// hostHeader returns the Host header: Host, or the address (bracketed if
// IPv6, without its zone) with the port unless it is the scheme's default.
func (h *HTTP) hostHeader() string {
	if h.Host != "" {
		return h.Host
	}
	host := h.Addr.Addr().WithZone("").String()
	if h.Addr.Addr().Is6() {
		host = "[" + host + "]"
	}
	if p := h.Addr.Port(); !(p == 80 && h.TLS == nil) && !(p == 443 && h.TLS != nil) {
		host += ":" + strconv.Itoa(int(p))
	}
	return host
}

// Check performs the request.
func (h *HTTP) Check(ctx context.Context) error {
	kind, target := h.kind(), h.Addr.String()+h.path()
	if err := h.validate(); err != nil {
		return fail(ctx, kind, target, ReasonConfig, err)
	}
	raw, release, err := connect(ctx, "tcp", h.Addr.String(), h.Bind, h.Interface)
	if err != nil {
		return fail(ctx, kind, target, ReasonConnect, err)
	}
	defer release()
	resetOnClose(raw)
	var conn net.Conn = raw
	if h.TLS != nil {
		tc := tls.Client(raw, clientConfig(h.TLS, h.Host, h.Addr.Addr()))
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(ctx, kind, target, ReasonTLS, err)
		}
		conn = tc
	}
	proto, connection := "HTTP/1.0", ""
	if h.HTTP11 {
		proto, connection = "HTTP/1.1", "Connection: close\r\n"
	}
	req := "GET " + h.path() + " " + proto + "\r\nUser-Agent: keepalived-go\r\nHost: " + h.hostHeader() + "\r\n" + connection + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fail(ctx, kind, target, ReasonProtocol, fmt.Errorf("write request: %w", err))
	}
	reason, err := h.evalResponse(bufio.NewReaderSize(conn, 4096))
	if err != nil {
		return fail(ctx, kind, target, reason, err)
	}
	return nil
}

// evalResponse reads and judges a response from br. It never panics and
// reads at most MaxHeaderBytes plus about MaxBodyBytes from br.
func (h *HTTP) evalResponse(br *bufio.Reader) (Reason, error) {
	maxH := h.MaxHeaderBytes
	if maxH == 0 {
		maxH = DefaultMaxHeaderBytes
	}
	headBytes, err := readHead(br, maxH)
	if err != nil {
		return ReasonProtocol, err
	}
	head, err := parseResponseHead(headBytes)
	if err != nil {
		return ReasonProtocol, err
	}
	if !statusOK(h.Status, head.Code) {
		return ReasonStatus, &StatusError{Code: head.Code, Want: statusWant(h.Status), Text: head.Reason}
	}
	if h.Digest == "" && h.Regex == nil {
		return 0, nil
	}
	maxB := h.MaxBodyBytes
	if maxB == 0 {
		maxB = DefaultMaxBodyBytes
	}
	var body io.Reader = br
	switch {
	case head.Chunked:
		body = httputil.NewChunkedReader(br)
	case head.ContentLength >= 0:
		if head.ContentLength > maxB {
			return ReasonTooLarge, fmt.Errorf("content length %d > %d: %w", head.ContentLength, maxB, ErrTooLarge)
		}
		body = io.LimitReader(br, head.ContentLength)
	}
	sum, buf, n, err := readBody(body, maxB, h.Regex != nil)
	if err != nil {
		return ReasonProtocol, fmt.Errorf("read body: %w", err)
	}
	if head.ContentLength >= 0 && n != head.ContentLength {
		return ReasonProtocol, fmt.Errorf("body is %d bytes, content length %d: %w", n, head.ContentLength, io.ErrUnexpectedEOF)
	}
	if h.Digest != "" {
		got := hex.EncodeToString(sum.Sum(nil))
		if !strings.EqualFold(got, h.Digest) {
			return ReasonDigest, &DigestError{Got: got, Want: strings.ToLower(h.Digest)}
		}
	}
	if h.Regex != nil && h.Regex.Match(buf) == h.RegexNoMatch {
		return ReasonRegex, fmt.Errorf("%w %q (no_match %v)", ErrNoMatch, h.Regex.String(), h.RegexNoMatch)
	}
	return 0, nil
}

// readBody reads at most max bytes of r, hashing them and keeping them when
// keep is set. More than max bytes is ErrTooLarge.
func readBody(r io.Reader, max int64, keep bool) (hash.Hash, []byte, int64, error) {
	sum := md5.New()
	var buf bytes.Buffer
	var w io.Writer = sum
	if keep {
		w = io.MultiWriter(sum, &buf)
	}
	n, err := io.Copy(w, io.LimitReader(r, max+1))
	if err != nil {
		return nil, nil, n, err
	}
	if n > max {
		return nil, nil, n, fmt.Errorf("body exceeds %d bytes: %w", max, ErrTooLarge)
	}
	return sum, buf.Bytes(), n, nil
}

func statusOK(rs []StatusRange, code int) bool {
	if len(rs) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range rs {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

func statusWant(rs []StatusRange) string {
	if len(rs) == 0 {
		return "200-299"
	}
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, " ")
}

// readHead reads the status line and headers, up to and including the empty
// line, at most max bytes.
func readHead(br *bufio.Reader, max int) ([]byte, error) {
	var head []byte
	lineStart := 0
	for {
		frag, err := br.ReadSlice('\n')
		head = append(head, frag...)
		if len(head) > max {
			return nil, fmt.Errorf("response header exceeds %d bytes: %w", max, ErrTooLarge)
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(head) == 0:
			return nil, fmt.Errorf("empty reply: %w", io.ErrUnexpectedEOF)
		case err == io.EOF:
			return nil, fmt.Errorf("reply ends inside the header: %w", io.ErrUnexpectedEOF)
		case err != nil:
			return nil, err
		}
		line := head[lineStart:]
		if string(line) == "\n" || string(line) == "\r\n" {
			return head, nil
		}
		lineStart = len(head)
	}
}

// responseHead is the parsed status line and the headers that frame the body.
type responseHead struct {
	Major, Minor  int
	Code          int
	Reason        string
	ContentLength int64 // -1 if absent
	Chunked       bool
}

// parseResponseHead parses an HTTP/1.x status line and header block. It
// never panics on any input.
func parseResponseHead(b []byte) (responseHead, error) {
	h := responseHead{ContentLength: -1}
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	// HTTP/x.y SP code [SP reason]
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/")) || line[6] != '.' || line[8] != ' ' ||
		!isDigit(line[5]) || !isDigit(line[7]) {
		return h, fmt.Errorf("bad status line %q: %w", trunc(line), ErrMalformed)
	}
	h.Major, h.Minor = int(line[5]-'0'), int(line[7]-'0')
	if h.Major != 1 {
		return h, fmt.Errorf("unsupported version %q: %w", trunc(line[:8]), ErrMalformed)
	}
	code := line[9:12]
	if !isDigit(code[0]) || !isDigit(code[1]) || !isDigit(code[2]) || code[0] == '0' {
		return h, fmt.Errorf("bad status code %q: %w", trunc(code), ErrMalformed)
	}
	h.Code = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	if len(line) > 12 {
		if line[12] != ' ' {
			return h, fmt.Errorf("bad status line %q: %w", trunc(line), ErrMalformed)
		}
		h.Reason = trunc(line[13:])
	}
	for len(rest) > 0 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte("\n"))
		l = bytes.TrimSuffix(l, []byte("\r"))
		if len(l) == 0 {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			continue // obsolete line folding: ignore continuation
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return h, fmt.Errorf("bad header line %q: %w", trunc(l), ErrMalformed)
		}
		value = bytes.TrimSpace(value)
		switch {
		case asciiEqualFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 {
				return h, fmt.Errorf("bad content length %q: %w", trunc(value), ErrMalformed)
			}
			if h.ContentLength >= 0 && h.ContentLength != n {
				return h, fmt.Errorf("conflicting content lengths: %w", ErrMalformed)
			}
			h.ContentLength = n
		case asciiEqualFold(name, "Transfer-Encoding"):
			if h.Major == 1 && h.Minor >= 1 {
				last := value
				if i := bytes.LastIndexByte(value, ','); i >= 0 {
					last = bytes.TrimSpace(value[i+1:])
				}
				h.Chunked = asciiEqualFold(last, "chunked")
			}
		}
	}
	if h.Chunked {
		h.ContentLength = -1
	}
	return h, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// trunc returns b as a string of at most 64 bytes, for error messages.
func trunc(b []byte) string {
	if len(b) > 64 {
		return string(b[:64]) + "..."
	}
	return string(b)
}
