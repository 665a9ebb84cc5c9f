// Package dist_test checks what an operator installs: `make install` and
// `make deb` from the repository's Makefile, the binary they ship, the systemd
// unit (with systemd-analyze verify), the default file and the example
// configuration.
package dist_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// The files a package or `make install` ships, with their modes.
var shipped = map[string]os.FileMode{
	"usr/sbin/keepalived-go":                               0o755,
	"usr/lib/systemd/system/keepalived-go.service":         0o644,
	"etc/default/keepalived-go":                            0o644,
	"usr/share/doc/keepalived-go/examples/keepalived.conf": 0o644,
	"usr/share/doc/keepalived-go/copyright":                0o644,
}

const version = "1.2.3~test"

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	return root
}

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	// A make started by `make test` must not join its parent's jobserver.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// tree lists the regular files under dir with their modes.
func tree(t *testing.T, dir string) map[string]os.FileMode {
	t.Helper()
	files := map[string]os.FileMode{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestPackage(t *testing.T) {
	testutil.RequireCommand(t, "make")
	testutil.RequireCommand(t, "dpkg-deb")
	testutil.RequireCommand(t, "systemd-analyze")
	root := repoRoot(t)
	tmp := t.TempDir()
	daemon := filepath.Join(tmp, "keepalived-go")
	dest := filepath.Join(tmp, "dest")
	debdir := filepath.Join(tmp, "deb")
	if err := os.Mkdir(debdir, 0o755); err != nil {
		t.Fatal(err)
	}
	vars := []string{"DAEMON=" + daemon, "VERSION=" + version}
	run(t, root, "make", append(vars, "install", "DESTDIR="+dest)...)
	run(t, root, "make", append(vars, "deb", "DEBDIR="+debdir)...)

	debs, _ := filepath.Glob(filepath.Join(debdir, "*.deb"))
	if len(debs) != 1 || filepath.Base(debs[0]) != "keepalived-go_"+version+"_amd64.deb" {
		t.Fatalf("make deb wrote %q, want one keepalived-go_%s_amd64.deb", debs, version)
	}
	deb := debs[0]
	unpacked := filepath.Join(tmp, "unpacked")
	run(t, tmp, "dpkg-deb", "-x", deb, unpacked)

	t.Run("install tree", func(t *testing.T) {
		if diff := cmp.Diff(shipped, tree(t, dest)); diff != "" {
			t.Errorf("make install files (-want +got):\n%s", diff)
		}
	})
	t.Run("deb tree", func(t *testing.T) {
		if diff := cmp.Diff(shipped, tree(t, unpacked)); diff != "" {
			t.Errorf("package files (-want +got):\n%s", diff)
		}
		for name := range shipped {
			a, errA := os.ReadFile(filepath.Join(dest, name))
			b, errB := os.ReadFile(filepath.Join(unpacked, name))
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s differs between make install and the package (%v, %v)", name, errA, errB)
			}
		}
	})
	t.Run("control", func(t *testing.T) {
		fields := map[string]string{}
		for _, f := range []string{"Package", "Version", "Architecture", "Section", "Homepage"} {
			fields[f] = strings.TrimSpace(run(t, tmp, "dpkg-deb", "--field", deb, f))
		}
		want := map[string]string{
			"Package": "keepalived-go", "Version": version, "Architecture": "amd64", "Section": "admin",
			"Homepage": "https://github.com/nux-root/keepalived-go",
		}
		if diff := cmp.Diff(want, fields); diff != "" {
			t.Errorf("control fields (-want +got):\n%s", diff)
		}
		control := filepath.Join(tmp, "control")
		run(t, tmp, "dpkg-deb", "--control", deb, control)
		conffiles, err := os.ReadFile(filepath.Join(control, "conffiles"))
		if err != nil {
			t.Fatal(err)
		}
		// An operator's DAEMON_ARGS survives upgrades; nothing else is a conffile.
		if got := strings.Fields(string(conffiles)); !slices.Equal(got, []string{"/etc/default/keepalived-go"}) {
			t.Errorf("conffiles = %q, want only /etc/default/keepalived-go", got)
		}
	})
	t.Run("static stripped binary", func(t *testing.T) {
		f, err := elf.Open(filepath.Join(unpacked, "usr/sbin/keepalived-go"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("binary has a %v program header: it is dynamically linked", p.Type)
			}
		}
		if s := f.Section(".symtab"); s != nil {
			t.Error("binary has a .symtab section: it is not stripped")
		}
	})
	t.Run("unit verifies", func(t *testing.T) {
		// systemd-analyze verify resolves the unit's dependencies and
		// commands under --root: give it the package's files, the host's
		// stock units (sysinit.target, network-online.target, ...) and
		// /bin/kill for ExecReload. Any warning is a failure: verify exits
		// 0 on an unknown Type= or a misspelt setting.
		vroot := filepath.Join(tmp, "vroot")
		run(t, tmp, "cp", "-a", unpacked+"/.", vroot)
		run(t, tmp, "cp", "-a", "/usr/lib/systemd/system/.", filepath.Join(vroot, "usr/lib/systemd/system"))
		kill, err := exec.LookPath("kill")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(vroot, "usr/bin"), 0o755); err != nil {
			t.Fatal(err)
		}
		run(t, tmp, "cp", kill, filepath.Join(vroot, "usr/bin/kill"))
		if err := os.Symlink("usr/bin", filepath.Join(vroot, "bin")); err != nil {
			t.Fatal(err)
		}
		unit := filepath.Join(vroot, "usr/lib/systemd/system/keepalived-go.service")
		cmd := exec.Command("systemd-analyze", "verify", "--man=no", "--root="+vroot, unit)
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) != 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
		text, _ := os.ReadFile(unit)
		for _, line := range []string{
			"Type=notify", "EnvironmentFile=-/etc/default/keepalived-go",
			"ExecStart=/usr/sbin/keepalived-go --dont-fork $DAEMON_ARGS", "ExecReload=/bin/kill -HUP $MAINPID",
		} {
			if !slices.Contains(strings.Split(string(text), "\n"), line) {
				t.Errorf("unit has no line %q", line)
			}
		}
	})
	t.Run("default file and example config", func(t *testing.T) {
		text, _ := os.ReadFile(filepath.Join(unpacked, "etc/default/keepalived-go"))
		if !slices.Contains(strings.Split(string(text), "\n"), `DAEMON_ARGS=""`) {
			t.Errorf("default file sets no empty DAEMON_ARGS:\n%s", text)
		}
		bin := filepath.Join(unpacked, "usr/sbin/keepalived-go")
		conf := filepath.Join(unpacked, "usr/share/doc/keepalived-go/examples/keepalived.conf")
		out := run(t, tmp, bin, "-t", "-f", conf)
		if !strings.Contains(out, "configuration OK") {
			t.Errorf("-t on the example config: %s", out)
		}
	})
	t.Run("install keeps an edited default file", func(t *testing.T) {
		def := filepath.Join(dest, "etc/default/keepalived-go")
		if err := os.WriteFile(def, []byte("DAEMON_ARGS=\"-D\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, root, "make", append(vars, "install", "DESTDIR="+dest)...)
		if got, _ := os.ReadFile(def); string(got) != "DAEMON_ARGS=\"-D\"\n" {
			t.Errorf("make install replaced the operator's default file: %q", got)
		}
	})
}
