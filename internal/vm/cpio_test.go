package vm

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// cpioEntry is one parsed newc entry (test-side reader).
type cpioEntry struct {
	Name         string
	Mode         uint32
	NLink        uint32
	RMajor       uint32
	RMinor       uint32
	Data         string
	InoNonZero   bool
	HeaderPadded bool
}

// readCPIO parses a newc archive up to its trailer, checking the alignment
// rules the kernel's unpacker relies on.
func readCPIO(data []byte) ([]cpioEntry, error) {
	var out []cpioEntry
	off := 0
	for {
		if off%4 != 0 {
			return nil, fmt.Errorf("entry at %d not 4-aligned", off)
		}
		if len(data)-off < cpioHdrLen {
			return nil, errors.New("truncated header")
		}
		h := data[off : off+cpioHdrLen]
		if string(h[:6]) != cpioMagic {
			return nil, fmt.Errorf("bad magic %q at %d", h[:6], off)
		}
		field := func(i int) (uint32, error) {
			v, err := strconv.ParseUint(string(h[6+8*i:6+8*i+8]), 16, 32)
			return uint32(v), err
		}
		var f [13]uint32
		for i := range f {
			v, err := field(i)
			if err != nil {
				return nil, err
			}
			f[i] = v
		}
		namesize := int(f[11])
		size := int(f[6])
		nameStart := off + cpioHdrLen
		if namesize < 1 || nameStart+namesize > len(data) {
			return nil, errors.New("bad name size")
		}
		name := string(data[nameStart : nameStart+namesize-1])
		if data[nameStart+namesize-1] != 0 {
			return nil, errors.New("name not NUL-terminated")
		}
		dataStart := nameStart + namesize
		dataStart += pad4(dataStart)
		if dataStart+size > len(data) {
			return nil, errors.New("truncated data")
		}
		if name == cpioTrailer {
			return out, nil
		}
		out = append(out, cpioEntry{
			Name: name, Mode: f[1], NLink: f[4], RMajor: f[9], RMinor: f[10],
			Data: string(data[dataStart : dataStart+size]), InoNonZero: f[0] != 0, HeaderPadded: true,
		})
		off = dataStart + size
		off += pad4(off)
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	steps := []error{
		c.File("/a/b/c.txt", 0o644, []byte("hello")),
		c.Dir("a", 0o700), // already created as a parent: no new entry
		c.Symlink("bin/sh", "/bin/busybox"),
		c.CharDev("dev/console", 0o600, 5, 1),
		c.File("empty", 0o600, nil),
		c.File("odd", 0o755, []byte("abc")),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d not a multiple of 4", buf.Len())
	}
	got, err := readCPIO(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := []cpioEntry{
		{Name: "a", Mode: modeDir | 0o755, NLink: 2},
		{Name: "a/b", Mode: modeDir | 0o755, NLink: 2},
		{Name: "a/b/c.txt", Mode: modeReg | 0o644, NLink: 1, Data: "hello"},
		{Name: "bin", Mode: modeDir | 0o755, NLink: 2},
		{Name: "bin/sh", Mode: modeLnk | 0o777, NLink: 1, Data: "/bin/busybox"},
		{Name: "dev", Mode: modeDir | 0o755, NLink: 2},
		{Name: "dev/console", Mode: modeChr | 0o600, NLink: 1, RMajor: 5, RMinor: 1},
		{Name: "empty", Mode: modeReg | 0o600, NLink: 1},
		{Name: "odd", Mode: modeReg | 0o755, NLink: 1, Data: "abc"},
	}
	for i := range want {
		want[i].InoNonZero, want[i].HeaderPadded = true, true
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
}

func TestCPIOWriterErrors(t *testing.T) {
	tests := []struct {
		name string
		do   func(c *cpioWriter) error
	}{
		{"duplicate file", func(c *cpioWriter) error {
			_ = c.File("x", 0o644, nil)
			return c.File("/x", 0o644, nil)
		}},
		{"file as parent", func(c *cpioWriter) error {
			_ = c.File("x", 0o644, nil)
			return c.File("x/y", 0o644, nil)
		}},
		{"root name", func(c *cpioWriter) error { return c.File("/", 0o644, nil) }},
		{"empty symlink", func(c *cpioWriter) error { return c.Symlink("l", "") }},
		{"after close", func(c *cpioWriter) error {
			_ = c.Close()
			return c.File("late", 0o644, nil)
		}},
		{"sticky", func(c *cpioWriter) error {
			_ = c.File("/", 0o644, nil)
			return c.File("fine", 0o644, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(newCPIOWriter(&bytes.Buffer{})); err == nil {
				t.Error("got nil error")
			}
		})
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("disk full")
	}
	f.after--
	return len(p), nil
}

func TestCPIOWriterWriteError(t *testing.T) {
	c := newCPIOWriter(&failWriter{after: 1})
	_ = c.File("a", 0o644, []byte("data"))
	if err := c.Close(); err == nil {
		t.Fatal("Close after a failed write returned nil")
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/init", "init"},
		{"bin/../sbin/x", "sbin/x"},
		{"/../../etc/hosts", "etc/hosts"},
		{"a//b/", "a/b"},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
