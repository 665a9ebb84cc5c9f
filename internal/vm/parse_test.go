package vm

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEncodeList(t *testing.T) {
	tests := [][]string{
		nil,
		{""},
		{"-test.run=^TestKernel(Smoke|Args)$", "-test.v"},
		{"a b", "  ", "'\"$x`;", "ünïcode", "\n\r\t"},
		{"", "", ""},
	}
	for _, in := range tests {
		enc, err := encodeList(in)
		if err != nil {
			t.Fatalf("encodeList(%q): %v", in, err)
		}
		got := decodeList(enc)
		if len(in) == 0 {
			in = nil
		}
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("round trip of %q (-want +got):\n%s", in, diff)
		}
	}
	if _, err := encodeList([]string{"nul\x00inside"}); err == nil {
		t.Error("encodeList accepted a NUL byte")
	}
}

func FuzzDecodeList(f *testing.F) {
	f.Add([]byte("-test.v\x00-test.run=x\x00"))
	f.Add([]byte("no terminator"))
	f.Add([]byte("\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		list := decodeList(data)
		enc, err := encodeList(list)
		if err != nil {
			t.Fatalf("decoded entries contain NUL: %v", err)
		}
		if diff := cmp.Diff(list, decodeList(enc)); diff != "" {
			t.Errorf("decode(encode(decode(x))) differs:\n%s", diff)
		}
	})
}

func TestParseMarkers(t *testing.T) {
	const nonce = "0123456789abcdef"
	exitTests := []struct {
		line       string
		wantPrefix string
		wantCode   int
		wantOK     bool
	}{
		{formatExit(0, nonce), "", 0, true},
		{formatExit(1, nonce), "", 1, true},
		{"partial output" + formatExit(2, nonce), "partial output", 2, true},
		{formatExit(3, nonce) + "  ", "", 3, true},
		{formatExit(0, "forged"), "", 0, false},
		{"VMTEST EXIT 0", "", 0, false},
		{"VMTEST EXIT x " + nonce, "", 0, false},
		{"VMTEST EXIT -1 " + nonce, "", 0, false},
		{"VMTEST EXIT 256 " + nonce, "", 0, false},
		{"VMTEST EXIT 0 " + nonce + " extra", "", 0, false},
		{"", "", 0, false},
	}
	for _, tt := range exitTests {
		prefix, code, ok := parseExit(tt.line, nonce)
		if prefix != tt.wantPrefix || code != tt.wantCode || ok != tt.wantOK {
			t.Errorf("parseExit(%q) = %q, %d, %v; want %q, %d, %v", tt.line, prefix, code, ok, tt.wantPrefix, tt.wantCode, tt.wantOK)
		}
	}
	if _, _, ok := parseExit(formatExit(0, nonce), ""); ok {
		t.Error("parseExit accepted an empty nonce")
	}
	if p, ok := parseStart("junk"+formatStart(nonce), nonce); !ok || p != "junk" {
		t.Errorf("parseStart = %q, %v; want junk, true", p, ok)
	}
	if _, ok := parseStart(formatStart("other"), nonce); ok {
		t.Error("parseStart accepted another nonce")
	}

	panicTests := []struct {
		line string
		code int
		ok   bool
	}{
		{"[    2.1] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200", 2, true},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300\r", 3, true},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", 128 + 11, true},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000", 0, true},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=zz", 0, false},
		{"Kernel panic - not syncing: VFS: Unable to mount root fs", 0, false},
	}
	for _, tt := range panicTests {
		code, ok := parsePanic(tt.line)
		if code != tt.code || ok != tt.ok {
			t.Errorf("parsePanic(%q) = %d, %v; want %d, %v", tt.line, code, ok, tt.code, tt.ok)
		}
	}
}

func FuzzParseExit(f *testing.F) {
	f.Add("VMTEST EXIT 0 abc", "abc")
	f.Add("xxVMTEST EXIT 12 abc", "abc")
	f.Add("Attempted to kill init! exitcode=0x00000200", "")
	f.Fuzz(func(t *testing.T, line, nonce string) {
		prefix, code, ok := parseExit(line, nonce)
		if ok {
			if code < 0 || code > 255 || !strings.HasPrefix(line, prefix) {
				t.Errorf("parseExit(%q, %q) = %q, %d", line, nonce, prefix, code)
			}
			if _, code2, ok2 := parseExit(formatExit(code, nonce), nonce); !ok2 || code2 != code {
				t.Errorf("formatExit(%d) does not parse back", code)
			}
		}
		_, _ = parseStart(line, nonce)
		if code, ok := parsePanic(line); ok && (code < 0 || code > 255+128) {
			t.Errorf("parsePanic(%q) = %d", line, code)
		}
	})
}

func TestConsole(t *testing.T) {
	const nonce = "n1"
	tests := []struct {
		name    string
		verbose bool
		lines   []string
		want    string
		exited  bool
		code    int
		flush   bool
	}{
		{
			name: "pass",
			lines: []string{"SeaBIOS junk\r", "[ 1.0] kernel", formatStart(nonce) + "\r",
				"=== RUN   TestX\r", "--- PASS: TestX\r", "PASS\r", formatExit(0, nonce) + "\r", "[ 2.0] reboot: Power down\r"},
			want:   "=== RUN   TestX\n--- PASS: TestX\nPASS\n",
			exited: true,
		},
		{
			name:   "output without newline before exit",
			lines:  []string{formatStart(nonce), "FAIL", "no newline" + formatExit(1, nonce)},
			want:   "FAIL\nno newline\n",
			exited: true, code: 1,
		},
		{
			name:  "forged exit in test output is test output",
			lines: []string{formatStart(nonce), formatExit(0, "guess")},
			want:  formatExit(0, "guess") + "\n",
		},
		{
			name:  "never started: boot messages shown on flush",
			lines: []string{"[ 0.5] Kernel panic - not syncing: no init"},
			want:  "[ 0.5] Kernel panic - not syncing: no init\n",
			flush: true,
		},
		{
			name:    "verbose shows everything",
			verbose: true,
			lines:   []string{"boot", formatStart(nonce), "out", formatExit(4, nonce), "after"},
			want:    "boot\n" + formatStart(nonce) + "\nout\n" + formatExit(4, nonce) + "\nafter\n",
			exited:  true, code: 4, flush: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := &console{nonce: nonce, out: &out, verbose: tt.verbose}
			for _, l := range tt.lines {
				c.line([]byte(l))
			}
			if tt.flush {
				c.flushPre()
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
			if c.exited != tt.exited || c.code != tt.code {
				t.Errorf("exited, code = %v, %d; want %v, %d", c.exited, c.code, tt.exited, tt.code)
			}
		})
	}
}

func TestReadConsoleLongLine(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	in := formatStart("n") + "\n" + long + "\n" + formatExit(0, "n") + "\n"
	var out bytes.Buffer
	c := &console{nonce: "n", out: &out}
	w := &lineWriter{con: c}
	for chunk := range slices.Chunk([]byte(in), 1000) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	w.flush()
	if !c.exited || strings.Count(out.String(), "x") != len(long) {
		t.Errorf("exited=%v, %d x's; want true, %d", c.exited, strings.Count(out.String(), "x"), len(long))
	}
}

func TestPanicSetsCode(t *testing.T) {
	c := &console{nonce: "n"}
	for _, l := range []string{formatStart("n"), "panic: boom", "Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200"} {
		c.line([]byte(l))
	}
	if c.exited || !c.panicked || c.panicCode != 2 {
		t.Errorf("exited=%v panicked=%v code=%d; want false true 2", c.exited, c.panicked, c.panicCode)
	}
}

const sampleModulesDep = `kernel/crypto/crc32c_generic.ko:
kernel/lib/libcrc32c.ko:
kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko:
kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko:
kernel/net/netfilter/nf_conntrack.ko: kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/nf_nat.ko: kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/net/netfilter/ipvs/ip_vs_ftp.ko: kernel/net/netfilter/nf_nat.ko kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko kernel/lib/libcrc32c.ko
kernel/drivers/net/dummy.ko:
`

func TestModuleOrder(t *testing.T) {
	md, err := parseModulesDep([]byte(sampleModulesDep))
	if err != nil {
		t.Fatal(err)
	}
	builtin := parseBuiltin([]byte("kernel/drivers/net/veth.ko\n"))
	got, err := md.order([]string{"crc32c_generic", "ip_vs", "ip_vs_rr", "ip_vs-ftp", "veth", "dummy"}, builtin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/crypto/crc32c_generic.ko",
		"kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko",
		"kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko",
		"kernel/lib/libcrc32c.ko",
		"kernel/net/netfilter/nf_conntrack.ko",
		"kernel/net/netfilter/ipvs/ip_vs.ko",
		"kernel/net/netfilter/ipvs/ip_vs_rr.ko",
		"kernel/net/netfilter/nf_nat.ko",
		"kernel/net/netfilter/ipvs/ip_vs_ftp.ko",
		"kernel/drivers/net/dummy.ko",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	if _, err := md.order([]string{"nonexistent"}, builtin); err == nil {
		t.Error("unknown module: got nil error")
	}
	cyc, err := parseModulesDep([]byte("a.ko: b.ko\nb.ko: a.ko\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cyc.order([]string{"a"}, nil); err == nil {
		t.Error("cycle: got nil error")
	}
	if _, err := parseModulesDep([]byte("no colon here\n")); err == nil {
		t.Error("line without ':' accepted")
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/net/netfilter/ipvs/ip_vs_rr.ko": "ip_vs_rr",
		"kernel/crypto/crc32c-generic.ko.xz":    "crc32c_generic",
		"x.ko.zst":                              "x",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzParseModulesDep(f *testing.F) {
	f.Add([]byte(sampleModulesDep), "ip_vs_ftp")
	f.Add([]byte("a.ko: a.ko\n"), "a")
	f.Add([]byte(":\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, root string) {
		md, err := parseModulesDep(data)
		if err != nil {
			return
		}
		files, err := md.order([]string{root}, nil)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, f := range files {
			if seen[f] {
				t.Errorf("duplicate %s in order", f)
			}
			seen[f] = true
		}
	})
}

func TestParseLdd(t *testing.T) {
	out := `	linux-vdso.so.1 (0x00007ffd)
	libpopt.so.0 => /lib/x86_64-linux-gnu/libpopt.so.0 (0x00007f)
	libnl-3.so.200 => /lib/x86_64-linux-gnu/libnl-3.so.200 (0x00007f)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)
	/lib64/ld-linux-x86-64.so.2 (0x00007f)
`
	got, err := parseLdd([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/lib/x86_64-linux-gnu/libpopt.so.0", "/lib/x86_64-linux-gnu/libnl-3.so.200",
		"/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseLdd (-want +got):\n%s", diff)
	}
	if got, err := parseLdd([]byte("\tnot a dynamic executable\n")); err != nil || len(got) != 0 {
		t.Errorf("static: %v, %v", got, err)
	}
	if _, err := parseLdd([]byte("\tlibfoo.so.1 => not found\n")); err == nil {
		t.Error("missing library accepted")
	}
}

func FuzzParseLdd(f *testing.F) {
	f.Add([]byte("\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n\t/lib64/ld.so (0x2)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		libs, err := parseLdd(data)
		if err != nil {
			return
		}
		for _, l := range libs {
			if !strings.HasPrefix(l, "/") {
				t.Errorf("relative library path %q", l)
			}
		}
	})
}

func TestParseAptDepends(t *testing.T) {
	tests := []struct {
		out, want string
		ok        bool
	}{
		{"linux-image-amd64\n  Depends: linux-image-6.1.0-56-amd64\n", "linux-image-6.1.0-56-amd64", true},
		{"linux-image-amd64\n |Depends: linux-image-6.1.0-57-amd64\n  Depends: other\n", "linux-image-6.1.0-57-amd64", true},
		{"linux-image-amd64\n  Recommends: firmware\n", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := parseAptDepends([]byte(tt.out))
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseAptDepends(%q) = %q, %v; want %q, ok=%v", tt.out, got, err, tt.want, tt.ok)
		}
	}
}
