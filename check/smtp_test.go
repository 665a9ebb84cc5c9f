package check

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// smtpResponder is a minimal SMTP server: greeting, then one reply per
// command line, recording the commands. With nil replies it hangs up after
// the greeting.
func smtpResponder(greeting string, replies map[string]string, got chan<- string) func(net.Conn) {
	return func(c net.Conn) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte(greeting))
		if replies == nil {
			return
		}
		br := bufio.NewReader(c)
		for range 10 {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\r\n")
			if got != nil {
				got <- line
			}
			verb, _, _ := strings.Cut(line, " ")
			r, ok := replies[verb]
			if !ok {
				r = "500 what\r\n"
			}
			c.Write([]byte(r))
			if verb == "QUIT" {
				return
			}
		}
	}
}

func TestSMTP(t *testing.T) {
	ok := map[string]string{"HELO": "250 hi\r\n", "EHLO": "250-hi\r\n250-PIPELINING\r\n250 8BITMIME\r\n", "QUIT": "221 bye\r\n"}
	tests := []struct {
		name     string
		s        SMTP
		greeting string
		replies  map[string]string
		reason   Reason
		commands []string
	}{
		{"helo", SMTP{}, "220 mx ESMTP\r\n", ok, 0, []string{"HELO localhost", "QUIT"}},
		{"ehlo named", SMTP{EHLO: true, HeloName: "checker.example"}, "220-mx ESMTP\r\n220 welcome\r\n", ok, 0, []string{"EHLO checker.example", "QUIT"}},
		{"bare code", SMTP{}, "220\r\n", ok, 0, []string{"HELO localhost", "QUIT"}},
		{"busy", SMTP{}, "421 busy\r\n", ok, ReasonStatus, nil},
		{"helo refused", SMTP{}, "220 mx\r\n", map[string]string{"HELO": "550 no\r\n"}, ReasonStatus, []string{"HELO localhost"}},
		{"quit not 221", SMTP{}, "220 mx\r\n", map[string]string{"HELO": "250 ok\r\n", "QUIT": "250 ok\r\n"}, ReasonStatus, []string{"HELO localhost", "QUIT"}},
		{"code changes mid reply", SMTP{}, "220-a\r\n250 b\r\n", ok, ReasonProtocol, nil},
		{"garbage greeting", SMTP{}, "SSH-2.0-OpenSSH\r\n", ok, ReasonProtocol, nil},
		{"bad separator", SMTP{}, "220_x\r\n", ok, ReasonProtocol, nil},
		{"hang up", SMTP{}, "220 mx\r\n", nil, ReasonProtocol, nil},
		{"bad helo name", SMTP{HeloName: "a b"}, "220 mx\r\n", ok, ReasonConfig, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan string, 10)
			tt.s.Addr = hostile(t, smtpResponder(tt.greeting, tt.replies, got))
			err := tt.s.Check(ctxTimeout(t, 2*time.Second))
			checkResult(t, err, tt.reason, nil)
			if tt.commands != nil {
				var cmds []string
				for range tt.commands {
					select {
					case c := <-got:
						cmds = append(cmds, c)
					case <-time.After(5 * time.Second):
					}
				}
				if diff := cmp.Diff(tt.commands, cmds); diff != "" {
					t.Errorf("commands (-want +got):\n%s", diff)
				}
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		checkResult(t, SMTP{Addr: closedPort(t, "tcp")}.Check(ctxTimeout(t, 2*time.Second)), ReasonConnect, nil)
	})
}

func TestSMTPHostile(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 64<<10)
	tests := []struct {
		name   string
		server func(net.Conn)
		reason Reason
	}{
		{"endless line", func(c net.Conn) { c.Write([]byte("220 ")); writeFor(c, long, 100) }, ReasonTooLarge},
		{"endless reply", func(c net.Conn) { writeFor(c, []byte("220-more\r\n"), 100000) }, ReasonTooLarge},
		{"slow drip", func(c net.Conn) {
			for _, b := range []byte("220 hello\r\n") {
				if _, err := c.Write([]byte{b}); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}, ReasonTimeout},
		{"silent", func(c net.Conn) { c.SetReadDeadline(time.Now().Add(3 * time.Second)); c.Read(make([]byte, 10)) }, ReasonTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := SMTP{Addr: hostile(t, tt.server)}
			checkResult(t, s.Check(ctxTimeout(t, 500*time.Millisecond)), tt.reason, nil)
		})
	}
}

func TestParseSMTPLine(t *testing.T) {
	type res struct {
		Code int
		Last bool
		Text string
		Err  bool
	}
	tests := map[string]res{
		"220 mx ESMTP":   {220, true, "mx ESMTP", false},
		"250-PIPELINING": {250, false, "PIPELINING", false},
		"221":            {221, true, "", false},
		"599 x":          {599, true, "x", false},
		"199 x":          {Err: true},
		"600 x":          {Err: true},
		"22":             {Err: true},
		"2a0 x":          {Err: true},
		"220x":           {Err: true},
		"":               {Err: true},
	}
	for in, want := range tests {
		code, last, text, err := parseSMTPLine([]byte(in))
		got := res{code, last, string(text), err != nil}
		if err != nil {
			got = res{Err: true}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("parseSMTPLine(%q) (-want +got):\n%s", in, diff)
		}
	}
}

func FuzzSMTPReply(f *testing.F) {
	for _, s := range []string{"220 mx ESMTP\r\n", "250-a\r\n250-b\r\n250 c\r\n", "221\n", "220-a\r\n221 b\r\n", "500"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		code, _, err := readSMTPReply(bufio.NewReaderSize(bytes.NewReader(b), 512))
		if err == nil && (code < 200 || code > 599) {
			t.Fatalf("accepted code %d", code)
		}
	})
}

func BenchmarkSMTPReply(b *testing.B) {
	reply := []byte("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n")
	r := bytes.NewReader(reply)
	br := bufio.NewReaderSize(r, 512)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(reply)
		br.Reset(r)
		if _, _, err := readSMTPReply(br); err != nil {
			b.Fatal(err)
		}
	}
}
