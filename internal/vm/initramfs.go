package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// Paths inside the guest.
const (
	// GuestDir holds the files the host passes to the guest init.
	GuestDir = "/vmtest"
	// GuestPkgDir is the working directory of the tests in the guest; the
	// package's testdata directory is copied to GuestPkgDir/testdata.
	GuestPkgDir = "/pkg"

	guestArgs  = GuestDir + "/args"
	guestEnv   = GuestDir + "/env"
	guestNonce = GuestDir + "/nonce"
	// loadOrderName is the file, in /lib/modules/<release>, listing the
	// module files to load in order (relative to that directory).
	loadOrderName = "load-order"
)

// DefaultBinaries returns the dynamically linked host programs copied into
// the VM with their shared libraries and dynamic loader: ipvsadm, for
// cross-checks.
func DefaultBinaries() []string { return []string{"ipvsadm"} }

// DefaultBusybox is the static busybox copied into the VM with a link for
// each applet.
const DefaultBusybox = "/bin/busybox"

// Image describes an initramfs for one test run.
type Image struct {
	// Kernel supplies the modules; required.
	Kernel *Kernel
	// Init is the static test binary that becomes /init; required.
	Init string
	// Args are the arguments for the test binary (without argv[0]).
	Args []string
	// Env are extra KEY=VALUE environment entries for the test binary.
	Env []string
	// TestData, if not empty, is a directory copied to /pkg/testdata.
	TestData string
	// Modules are the modules to load (with their dependencies); nil means
	// DefaultModules.
	Modules []string
	// Binaries are host programs (names looked up in PATH, or paths) copied
	// with their libraries; nil means DefaultBinaries.
	Binaries []string
	// Busybox is the static busybox; "" means DefaultBusybox.
	Busybox string
	// Nonce tags the guest's START and EXIT lines so that test output cannot
	// forge them; required.
	Nonce string
}

// encodeList encodes strings as NUL-terminated entries (the format of
// /vmtest/args and /vmtest/env). Strings containing NUL are rejected.
func encodeList(list []string) ([]byte, error) {
	var b bytes.Buffer
	for _, s := range list {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, fmt.Errorf("vm: argument %q contains a NUL byte", s)
		}
		b.WriteString(s)
		b.WriteByte(0)
	}
	return b.Bytes(), nil
}

// decodeList is the inverse of encodeList. A final entry without its NUL
// terminator is kept.
func decodeList(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(data), "\x00")
	return strings.Split(s, "\x00")
}

// WriteInitramfs writes the image as an uncompressed newc cpio archive: a
// busybox userland with applet links, /dev/console, the module files and
// their load-order, the extra binaries with their shared libraries, the
// package's testdata, the test binary as /init and the /vmtest files.
func WriteInitramfs(ctx context.Context, w io.Writer, img Image) error {
	if img.Kernel == nil || img.Init == "" || img.Nonce == "" {
		return errors.New("vm: initramfs needs Kernel, Init and Nonce")
	}
	args, err := encodeList(img.Args)
	if err != nil {
		return err
	}
	env, err := encodeList(img.Env)
	if err != nil {
		return err
	}
	c := newCPIOWriter(w)
	for _, d := range []string{"bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "run", "root", "etc", "var/tmp", GuestPkgDir, GuestDir} {
		_ = c.Dir(d, 0o755)
	}
	_ = c.Dir("tmp", 0o1777)
	_ = c.Symlink("var/run", "../run")
	_ = c.CharDev("dev/console", 0o600, 5, 1)
	_ = c.CharDev("dev/null", 0o666, 1, 3)
	_ = c.File("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	_ = c.File("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	_ = c.File("etc/hosts", 0o644, []byte("127.0.0.1\tlocalhost\n::1\tlocalhost\n"))

	bb := img.Busybox
	if bb == "" {
		bb = DefaultBusybox
	}
	bins := img.Binaries
	if bins == nil {
		bins = DefaultBinaries()
	}
	mods := img.Modules
	if mods == nil {
		mods = DefaultModules()
	}
	// Real programs first, so that busybox links do not take their names.
	for _, b := range bins {
		if err := addBinary(ctx, c, b); err != nil {
			return err
		}
	}
	if err := addBusybox(ctx, c, bb); err != nil {
		return err
	}
	if err := addModules(c, img.Kernel, mods); err != nil {
		return err
	}
	if img.TestData != "" {
		if err := addTree(c, img.TestData, path.Join(GuestPkgDir, "testdata")); err != nil {
			return err
		}
	}
	init, err := os.ReadFile(img.Init)
	if err != nil {
		return fmt.Errorf("vm: test binary: %w", err)
	}
	_ = c.File("init", 0o755, init)
	_ = c.File(guestArgs, 0o644, args)
	_ = c.File(guestEnv, 0o644, env)
	_ = c.File(guestNonce, 0o644, []byte(img.Nonce))
	return c.Close()
}

// addModules copies the module files for roots and writes load-order and a
// modules.dep restricted to them (so busybox modprobe works in the guest).
func addModules(c *cpioWriter, k *Kernel, roots []string) error {
	depData, err := os.ReadFile(filepath.Join(k.ModulesDir, "modules.dep"))
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	md, err := parseModulesDep(depData)
	if err != nil {
		return err
	}
	builtinData, _ := os.ReadFile(filepath.Join(k.ModulesDir, "modules.builtin"))
	files, err := md.order(roots, parseBuiltin(builtinData))
	if err != nil {
		return err
	}
	guestMods := path.Join("lib/modules", k.Release)
	var order, dep bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(k.ModulesDir, filepath.FromSlash(f)))
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		if err := c.File(path.Join(guestMods, f), 0o644, data); err != nil {
			return err
		}
		order.WriteString(f + "\n")
		fmt.Fprintf(&dep, "%s:", f)
		for _, d := range md.deps[moduleName(f)] {
			dep.WriteString(" " + d)
		}
		dep.WriteString("\n")
	}
	if err := c.File(path.Join(guestMods, loadOrderName), 0o644, order.Bytes()); err != nil {
		return err
	}
	return c.File(path.Join(guestMods, "modules.dep"), 0o644, dep.Bytes())
}

// addBusybox copies busybox to /bin/busybox and links every applet to it,
// except names already taken.
func addBusybox(ctx context.Context, c *cpioWriter, bb string) error {
	data, err := os.ReadFile(bb)
	if err != nil {
		return fmt.Errorf("vm: busybox: %w", err)
	}
	if err := c.File("bin/busybox", 0o755, data); err != nil {
		return err
	}
	out, err := runTool(ctx, "/", bb, "--list-full")
	if err != nil {
		return fmt.Errorf("vm: busybox applets: %w", err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		name := strings.TrimSpace(line)
		if name == "" || c.Has(name) {
			continue
		}
		if err := c.Symlink(name, "/bin/busybox"); err != nil {
			return err
		}
	}
	return nil
}

// parseLdd returns the absolute library paths (and the dynamic loader) that
// ldd printed. "not a dynamic executable" yields none.
func parseLdd(out []byte) ([]string, error) {
	var libs []string
	for line := range strings.SplitSeq(string(out), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "not a dynamic executable") || strings.Contains(line, "statically linked") {
			continue
		}
		if strings.Contains(line, "=> not found") {
			return nil, fmt.Errorf("vm: missing shared library: %s", line)
		}
		p := line
		if _, after, ok := strings.Cut(line, "=>"); ok {
			p = strings.TrimSpace(after)
		}
		if i := strings.Index(p, " ("); i >= 0 {
			p = p[:i]
		}
		if strings.HasPrefix(p, "/") && !slices.Contains(libs, p) {
			libs = append(libs, p)
		}
	}
	return libs, nil
}

// addBinary copies a host program to the same path in the guest with the
// shared libraries ldd lists.
func addBinary(ctx context.Context, c *cpioWriter, name string) error {
	p := name
	if !strings.Contains(name, "/") {
		var err error
		if p, err = lookTool(name); err != nil {
			return fmt.Errorf("vm: %w", err)
		}
	}
	files := []string{p}
	out, err := runTool(ctx, "/", "ldd", p)
	if err != nil && !strings.Contains(err.Error(), "not a dynamic executable") {
		return fmt.Errorf("vm: %w", err)
	}
	libs, err := parseLdd(out)
	if err != nil {
		return err
	}
	files = append(files, libs...)
	for _, f := range files {
		if c.Has(f) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		if err := c.File(f, 0o755, data); err != nil {
			return err
		}
	}
	return nil
}

// addTree copies the directory src (regular files, directories, symlinks)
// to dst in the archive.
func addTree(c *cpioWriter, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("vm: testdata: %w", err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("vm: testdata: %w", err)
		}
		name := path.Join(dst, filepath.ToSlash(rel))
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("vm: testdata: %w", err)
		}
		switch {
		case d.IsDir():
			return c.Dir(name, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("vm: testdata: %w", err)
			}
			return c.Symlink(name, t)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("vm: testdata: %w", err)
			}
			return c.File(name, info.Mode().Perm(), data)
		default:
			return nil // sockets, devices, fifos: skipped
		}
	})
}
