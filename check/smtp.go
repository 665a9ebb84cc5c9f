package check

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// Bounds of SMTP reply reading.
const (
	smtpMaxLine  = 1000 // RFC 5321 §4.5.3.1.5 text line, with CRLF
	smtpMaxLines = 64   // lines of one multi-line reply
)

// SMTP is keepalived's SMTP_CHECK: it reads the 220 greeting, sends HELO (or
// EHLO) with HeloName and expects 250, then sends QUIT and expects 221.
// Replies are read line by line with bounded line length and line count.
type SMTP struct {
	// Addr is the server's address and port. Required.
	Addr netip.AddrPort
	// HeloName is the name sent in HELO/EHLO (helo_name). If empty,
	// "localhost".
	HeloName string
	// EHLO sends EHLO instead of HELO.
	EHLO bool
	// Bind and Interface select the local address and device, as in TCP.
	Bind      netip.AddrPort
	Interface string
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (s SMTP) Validate() error { return configError("smtp", s.validate()) }

func (s SMTP) validate() error {
	var errs []error
	if err := validAddrPort("address", s.Addr); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(s.HeloName, " \t\r\n") {
		errs = append(errs, fmt.Errorf("helo name %q contains white space: %w", s.HeloName, ErrInvalidConfig))
	}
	return joinErrors(errs)
}

// CheckKey returns s itself.
func (s SMTP) CheckKey() any { return s }

// Check runs the SMTP dialogue.
func (s SMTP) Check(ctx context.Context) error {
	target := s.Addr.String()
	if err := s.validate(); err != nil {
		return fail(ctx, "smtp", target, ReasonConfig, err)
	}
	c, release, err := connect(ctx, "tcp", target, s.Bind, s.Interface)
	if err != nil {
		return fail(ctx, "smtp", target, ReasonConnect, err)
	}
	defer release()
	br := bufio.NewReaderSize(c, 512)
	name := s.HeloName
	if name == "" {
		name = "localhost"
	}
	verb := "HELO "
	if s.EHLO {
		verb = "EHLO "
	}
	steps := []struct {
		send string
		want int
		what string
	}{
		{"", 220, "greeting"},
		{verb + name + "\r\n", 250, strings.TrimSpace(verb)},
		{"QUIT\r\n", 221, "QUIT"},
	}
	for _, st := range steps {
		if st.send != "" {
			if _, err := io.WriteString(c, st.send); err != nil {
				return fail(ctx, "smtp", target, ReasonProtocol, fmt.Errorf("send %s: %w", st.what, err))
			}
		}
		code, text, err := readSMTPReply(br)
		if err != nil {
			return fail(ctx, "smtp", target, ReasonProtocol, fmt.Errorf("%s: %w", st.what, err))
		}
		if code != st.want {
			return fail(ctx, "smtp", target, ReasonStatus, fmt.Errorf("%s: %w", st.what, &StatusError{Code: code, Want: fmt.Sprint(st.want), Text: text}))
		}
	}
	resetOnClose(c)
	return nil
}

// readSMTPReply reads one possibly multi-line reply (RFC 5321 §4.2).
func readSMTPReply(br *bufio.Reader) (int, string, error) {
	var first string
	code := 0
	for i := 0; i < smtpMaxLines; i++ {
		line, err := readLine(br, smtpMaxLine)
		if err != nil {
			return 0, "", err
		}
		c, last, text, err := parseSMTPLine(line)
		if err != nil {
			return 0, "", err
		}
		if code == 0 {
			code, first = c, trunc(text)
		} else if c != code {
			return 0, "", fmt.Errorf("reply code changed from %d to %d inside a reply: %w", code, c, ErrMalformed)
		}
		if last {
			return code, first, nil
		}
	}
	return 0, "", fmt.Errorf("reply longer than %d lines: %w", smtpMaxLines, ErrTooLarge)
}

// readLine reads one line of at most max bytes, without its line ending.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := br.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > max {
			return nil, fmt.Errorf("line exceeds %d bytes: %w", max, ErrTooLarge)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil, fmt.Errorf("connection closed: %w", io.ErrUnexpectedEOF)
		}
		if err != nil {
			return nil, err
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return line, nil
	}
}

// parseSMTPLine parses one reply line: three digits, then '-' (more lines
// follow), ' ' or the end of the line. It never panics.
func parseSMTPLine(line []byte) (code int, last bool, text []byte, err error) {
	if len(line) < 3 || line[0] < '2' || line[0] > '5' || !isDigit(line[1]) || !isDigit(line[2]) {
		return 0, false, nil, fmt.Errorf("bad reply line %q: %w", trunc(line), ErrMalformed)
	}
	code = int(line[0]-'0')*100 + int(line[1]-'0')*10 + int(line[2]-'0')
	if len(line) == 3 {
		return code, true, nil, nil
	}
	switch line[3] {
	case ' ':
		return code, true, line[4:], nil
	case '-':
		return code, false, line[4:], nil
	}
	return 0, false, nil, fmt.Errorf("bad reply line %q: %w", trunc(line), ErrMalformed)
}
