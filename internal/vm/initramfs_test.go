package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// fakeKernel lays out a prepared kernel in a temporary cache directory:
// stamp, vmlinuz, modules.dep and module files.
func fakeKernel(t *testing.T) (dir string, k *Kernel) {
	t.Helper()
	dir = t.TempDir()
	const pkg, rel = "linux-image-0.0.0-1-amd64", "0.0.0-1-amd64"
	root := filepath.Join(dir, pkg)
	mods := filepath.Join(root, "lib", "modules", rel)
	write := func(p, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "boot", "vmlinuz-"+rel), "kernel")
	write(filepath.Join(mods, "modules.dep"), sampleModulesDep)
	write(filepath.Join(mods, "modules.builtin"), "kernel/drivers/net/veth.ko\n")
	md, err := parseModulesDep([]byte(sampleModulesDep))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range md.path {
		write(filepath.Join(mods, p), "module "+name)
	}
	stamp, err := json.Marshal(Kernel{Package: pkg, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, stampName), string(stamp))
	write(filepath.Join(dir, currentName), string(stamp))
	k, err = loadStamp(root)
	if err != nil {
		t.Fatal(err)
	}
	return dir, k
}

func TestPrepareKernelCached(t *testing.T) {
	dir, want := fakeKernel(t)
	t.Setenv(EnvRefresh, "")
	// A cached kernel needs no apt: with an empty PATH nothing could run.
	t.Setenv("PATH", "")
	got, err := PrepareKernel(context.Background(), KernelConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("kernel (-want +got):\n%s", diff)
	}
	got, err = PrepareKernel(context.Background(), KernelConfig{Dir: dir, Package: want.Package})
	if err != nil || got.Vmlinuz != want.Vmlinuz {
		t.Errorf("explicit package: %+v, %v", got, err)
	}
}

func TestPrepareKernelBadStamp(t *testing.T) {
	dir, k := fakeKernel(t)
	if err := os.Remove(k.Vmlinuz); err != nil {
		t.Fatal(err)
	}
	if _, err := loadStamp(k.Root); err == nil {
		t.Error("stamp of a kernel without vmlinuz accepted")
	}
	if _, err := readCurrent(dir); err == nil {
		t.Error("current.json naming an incomplete kernel accepted")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv(EnvDir, "/some/where")
	if d, err := DefaultDir(); err != nil || d != "/some/where" {
		t.Errorf("DefaultDir with %s = %q, %v", EnvDir, d, err)
	}
	t.Setenv(EnvDir, "")
	d, err := DefaultDir()
	if err != nil {
		t.Fatal(err)
	}
	// The tests run in the package directory, two levels below go.mod.
	wd, _ := os.Getwd()
	if want := filepath.Join(filepath.Dir(filepath.Dir(wd)), ".cache", "vm"); d != want {
		t.Errorf("DefaultDir = %q; want %q", d, want)
	}
}

func TestWriteInitramfs(t *testing.T) {
	_, k := fakeKernel(t)
	tmp := t.TempDir()
	// A stand-in busybox: the archive code only copies it and asks it for
	// its applets.
	bb := filepath.Join(tmp, "busybox")
	if err := os.WriteFile(bb, []byte("#!/bin/sh\necho bin/sh\necho sbin/ip\necho usr/sbin/ipvsadm\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	testutil.RequireCommand(t, "sh")
	initBin := filepath.Join(tmp, "pkg.test")
	if err := os.WriteFile(initBin, []byte("ELF..."), 0o755); err != nil {
		t.Fatal(err)
	}
	td := filepath.Join(tmp, "testdata")
	if err := os.MkdirAll(filepath.Join(td, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(td, "sub", "f.txt"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-test.run=^TestKernel", "-x=a b 'c'"}
	var buf bytes.Buffer
	err := WriteInitramfs(context.Background(), &buf, Image{
		Kernel: k, Init: initBin, Args: args, Env: []string{"A=1"},
		TestData: td, Modules: []string{"crc32c_generic", "ip_vs_ftp", "veth"},
		Binaries: []string{}, Busybox: bb, Nonce: "abc",
	})
	if err != nil {
		t.Fatal(err)
	}
	entries, err := readCPIO(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]cpioEntry{}
	for _, e := range entries {
		byName[e.Name] = e
	}
	modDir := "lib/modules/" + k.Release + "/"
	wantFiles := map[string]string{
		"init":                             "ELF...",
		"vmtest/nonce":                     "abc",
		"vmtest/args":                      "-test.run=^TestKernel\x00-x=a b 'c'\x00",
		"vmtest/env":                       "A=1\x00",
		"pkg/testdata/sub/f.txt":           "data",
		modDir + "kernel/lib/libcrc32c.ko": "module libcrc32c",
		modDir + loadOrderName: "kernel/crypto/crc32c_generic.ko\n" +
			"kernel/net/ipv6/netfilter/nf_defrag_ipv6.ko\n" +
			"kernel/net/ipv4/netfilter/nf_defrag_ipv4.ko\n" +
			"kernel/lib/libcrc32c.ko\n" +
			"kernel/net/netfilter/nf_conntrack.ko\n" +
			"kernel/net/netfilter/nf_nat.ko\n" +
			"kernel/net/netfilter/ipvs/ip_vs.ko\n" +
			"kernel/net/netfilter/ipvs/ip_vs_ftp.ko\n",
	}
	for name, want := range wantFiles {
		e, ok := byName[name]
		if !ok {
			t.Errorf("missing %s", name)
			continue
		}
		if e.Data != want {
			t.Errorf("%s = %q; want %q", name, e.Data, want)
		}
	}
	if e := byName["init"]; e.Mode != modeReg|0o755 {
		t.Errorf("init mode = %o; want %o", e.Mode, modeReg|0o755)
	}
	if e := byName["dev/console"]; e.Mode&0o170000 != modeChr || e.RMajor != 5 || e.RMinor != 1 {
		t.Errorf("dev/console = %+v; want char 5:1", e)
	}
	if e := byName["bin/sh"]; e.Mode&0o170000 != modeLnk || e.Data != "/bin/busybox" {
		t.Errorf("bin/sh = %+v; want link to /bin/busybox", e)
	}
	if !strings.Contains(byName[modDir+"modules.dep"].Data, "kernel/net/netfilter/ipvs/ip_vs_ftp.ko: kernel/net/netfilter/nf_nat.ko") {
		t.Errorf("restricted modules.dep:\n%s", byName[modDir+"modules.dep"].Data)
	}
	if _, ok := byName[modDir+"kernel/net/netfilter/ipvs/ip_vs_rr.ko"]; ok {
		t.Error("module not asked for was copied")
	}

	if err := WriteInitramfs(context.Background(), &bytes.Buffer{}, Image{Kernel: k, Init: initBin}); err == nil {
		t.Error("image without nonce accepted")
	}
	err = WriteInitramfs(context.Background(), &bytes.Buffer{}, Image{
		Kernel: k, Init: initBin, Nonce: "n", Binaries: []string{}, Busybox: bb, Modules: []string{"no_such_module"},
	})
	if err == nil {
		t.Error("unknown module accepted")
	}
}

func TestCheckStatic(t *testing.T) {
	tests := []struct {
		path      string
		wantStatc bool
	}{
		{DefaultBusybox, true},
		{"/usr/sbin/ipvsadm", false},
	}
	for _, tt := range tests {
		if _, err := os.Stat(tt.path); err != nil {
			testutil.Skip(t, "%s not installed (busybox-static, ipvsadm): %v", tt.path, err)
			return
		}
		err := CheckStatic(tt.path)
		if tt.wantStatc && err != nil {
			t.Errorf("CheckStatic(%s) = %v; want nil", tt.path, err)
		}
		if !tt.wantStatc && !errors.Is(err, ErrNotStatic) {
			t.Errorf("CheckStatic(%s) = %v; want ErrNotStatic", tt.path, err)
		}
	}
	if err := CheckStatic(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestUsesMain(t *testing.T) {
	dir := t.TempDir()
	with := filepath.Join(dir, "with")
	without := filepath.Join(dir, "without")
	if err := os.WriteFile(with, []byte("\x7fELF...keepalived-go-vm-guest-init-v1..."), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(without, []byte("\x7fELF...keepalived-go-vm..."), 0o755); err != nil {
		t.Fatal(err)
	}
	if ok, err := UsesMain(with); err != nil || !ok {
		t.Errorf("UsesMain(with) = %v, %v; want true", ok, err)
	}
	if ok, err := UsesMain(without); err != nil || ok {
		t.Errorf("UsesMain(without) = %v, %v; want false", ok, err)
	}
	if _, err := UsesMain(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
	// This package's own test binary calls Main (TestMain).
	if exe, err := os.Executable(); err == nil {
		if ok, err := UsesMain(exe); err != nil || !ok {
			t.Errorf("UsesMain(own test binary) = %v, %v; want true", ok, err)
		}
	}
}
