package vm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Environment variables read by the host side.
const (
	// EnvDir overrides the cache directory (default <repo root>/.cache/vm).
	EnvDir = "KEEPALIVED_GO_VM_DIR"
	// EnvRefresh, when "1", makes PrepareKernel ask apt again which kernel
	// package linux-image-amd64 depends on instead of trusting the cache.
	EnvRefresh = "KEEPALIVED_GO_VM_REFRESH"
)

// MetaPackage is the Debian package whose dependency names the kernel to use.
const MetaPackage = "linux-image-amd64"

const (
	stampName   = ".keepalived-go-prepared"
	currentName = "current.json"
	lockName    = "lock"
)

// Kernel is a Debian kernel package unpacked (never installed) into the
// cache directory, with depmod run over its modules.
type Kernel struct {
	// Package is the Debian package, e.g. "linux-image-6.1.0-56-amd64".
	Package string `json:"package"`
	// Release is the kernel release (uname -r), e.g. "6.1.0-56-amd64".
	Release string `json:"release"`
	// Root is the directory the package was unpacked into.
	Root string `json:"-"`
	// Vmlinuz is the compressed kernel image (bzImage) from the package.
	Vmlinuz string `json:"-"`
	// Vmlinux is the uncompressed ELF kernel extracted from Vmlinuz, booted
	// through its PVH entry point (much faster under emulation); "" if it
	// could not be extracted.
	Vmlinux string `json:"-"`
	// ModulesDir is the directory holding modules.dep and kernel/.
	ModulesDir string `json:"-"`
}

// KernelConfig configures PrepareKernel. The zero value is ready to use.
type KernelConfig struct {
	// Dir is the cache directory; "" means DefaultDir.
	Dir string
	// Package is the kernel package; "" means the one MetaPackage depends on.
	Package string
	// Refresh re-resolves Package with apt-cache even when a kernel is
	// already prepared (also set by EnvRefresh=1).
	Refresh bool
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// DefaultDir returns $KEEPALIVED_GO_VM_DIR, else .cache/vm under the nearest
// directory above the working directory that holds go.mod, else
// keepalived-go/vm under the user cache directory.
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return filepath.Abs(d)
	}
	wd, err := os.Getwd()
	if err == nil {
		for d := wd; ; {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return filepath.Join(d, ".cache", "vm"), nil
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	uc, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vm: no cache directory (set %s): %w", EnvDir, err)
	}
	return filepath.Join(uc, "keepalived-go", "vm"), nil
}

func discardIfNil(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// lookTool finds a system tool also in the sbin directories, which are often
// missing from a non-root PATH.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or sbin directories", name)
}

// runTool runs a tool and returns its stdout; the error carries stderr.
func runTool(ctx context.Context, dir, name string, args ...string) ([]byte, error) {
	p, err := lookTool(name)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "DEBIAN_FRONTEND=noninteractive")
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err,
			strings.TrimSpace(lastBytes(stderr.String(), 2000)))
	}
	return stdout.Bytes(), nil
}

// removeLeftovers removes what an interrupted run left behind: the files
// and directories matching pattern. Callers hold the cache lock.
func removeLeftovers(pattern string) {
	old, _ := filepath.Glob(pattern)
	for _, o := range old {
		_ = os.RemoveAll(o)
	}
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// parseAptDepends returns the kernel image package named in
// `apt-cache depends linux-image-amd64` output.
func parseAptDepends(out []byte) (string, error) {
	for line := range strings.SplitSeq(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && strings.TrimPrefix(f[0], "|") == "Depends:" && strings.HasPrefix(f[1], "linux-image-") {
			return f[1], nil
		}
	}
	return "", errors.New("vm: apt-cache depends " + MetaPackage + ": no linux-image-* dependency (run apt-get update?)")
}

// PrepareKernel makes sure a kernel package is downloaded with apt-get
// download, unpacked with dpkg -x and indexed with depmod -b in the cache
// directory, and returns it. It never installs anything on the host. A
// prepared kernel is reused (a stamp file marks it complete), so a cached
// call costs a few file reads. Concurrent callers (parallel go test
// processes) serialize on a lock file in the cache directory.
func PrepareKernel(ctx context.Context, cfg KernelConfig) (*Kernel, error) {
	log := discardIfNil(cfg.Logger)
	dir := cfg.Dir
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	unlock, err := lockDir(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return nil, err
	}
	defer unlock()

	refresh := cfg.Refresh || os.Getenv(EnvRefresh) == "1"
	if cfg.Package == "" && !refresh {
		if k, err := readCurrent(dir); err == nil {
			log.Debug("vm: kernel cached", "package", k.Package, "dir", k.Root)
			return k, ensureVmlinux(ctx, k, log)
		}
	}
	pkg := cfg.Package
	if pkg == "" {
		out, err := runTool(ctx, dir, "apt-cache", "depends", MetaPackage)
		if err != nil {
			return nil, fmt.Errorf("vm: resolve kernel package: %w", err)
		}
		if pkg, err = parseAptDepends(out); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(pkg, "/ \t\n") || strings.HasPrefix(pkg, ".") {
		return nil, fmt.Errorf("vm: invalid kernel package name %q", pkg)
	}
	root := filepath.Join(dir, pkg)
	k, err := loadStamp(root)
	if err != nil {
		if k, err = unpackKernel(ctx, dir, pkg, log); err != nil {
			return nil, err
		}
	}
	if cfg.Package == "" {
		if err := writeCurrent(dir, k); err != nil {
			return nil, err
		}
	}
	return k, ensureVmlinux(ctx, k, log)
}

// BootImage returns the kernel file to boot: Vmlinux if present, else
// Vmlinuz.
func (k *Kernel) BootImage() string {
	if k.Vmlinux != "" {
		return k.Vmlinux
	}
	return k.Vmlinuz
}

const noVmlinuxName = ".no-vmlinux"

// ensureVmlinux extracts the ELF kernel once. A failure is remembered in a
// marker file (and the bzImage is booted instead); only a cancelled context
// is an error.
func ensureVmlinux(ctx context.Context, k *Kernel, log *slog.Logger) error {
	if k.Vmlinux != "" {
		return nil
	}
	marker := filepath.Join(k.Root, noVmlinuxName)
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	start := time.Now()
	if err := extractVmlinux(ctx, k); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("vm: extract vmlinux: %w", ctx.Err())
		}
		log.Warn("vm: booting the compressed kernel", "reason", err)
		_ = os.WriteFile(marker, []byte(err.Error()+"\n"), 0o644)
		return nil
	}
	k.Vmlinux = k.vmlinuxPath()
	log.Info("vm: extracted vmlinux for PVH boot", "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func readCurrent(dir string) (*Kernel, error) {
	data, err := os.ReadFile(filepath.Join(dir, currentName))
	if err != nil {
		return nil, err
	}
	var k Kernel
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, err
	}
	if k.Package == "" || strings.ContainsAny(k.Package, "/") {
		return nil, errors.New("bad current.json")
	}
	return loadStamp(filepath.Join(dir, k.Package))
}

func writeCurrent(dir string, k *Kernel) error {
	data, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	tmp := filepath.Join(dir, currentName+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, currentName)); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}

// loadStamp returns the kernel prepared in root if its stamp is present and
// the files it names exist.
func loadStamp(root string) (*Kernel, error) {
	data, err := os.ReadFile(filepath.Join(root, stampName))
	if err != nil {
		return nil, err
	}
	var k Kernel
	if err := json.Unmarshal(data, &k); err != nil {
		return nil, fmt.Errorf("vm: stamp %s: %w", root, err)
	}
	if err := k.locate(root); err != nil {
		return nil, err
	}
	return &k, nil
}

// locate fills the path fields from root and Release and checks them.
func (k *Kernel) locate(root string) error {
	if k.Release == "" || strings.ContainsAny(k.Release, "/") {
		return fmt.Errorf("vm: kernel in %s: bad release %q", root, k.Release)
	}
	k.Root = root
	k.Vmlinuz = filepath.Join(root, "boot", "vmlinuz-"+k.Release)
	k.ModulesDir = ""
	for _, base := range []string{"lib", filepath.Join("usr", "lib")} {
		d := filepath.Join(root, base, "modules", k.Release)
		if _, err := os.Stat(d); err == nil {
			k.ModulesDir = d
			break
		}
	}
	if k.ModulesDir == "" {
		return fmt.Errorf("vm: kernel in %s: no modules directory for %s", root, k.Release)
	}
	if _, err := os.Stat(k.Vmlinuz); err != nil {
		return fmt.Errorf("vm: kernel in %s: %w", root, err)
	}
	k.Vmlinux = ""
	if _, err := os.Stat(k.vmlinuxPath()); err == nil {
		k.Vmlinux = k.vmlinuxPath()
	}
	return nil
}

// unpackKernel downloads pkg, unpacks it next to its final place, runs
// depmod, and renames it into place with a stamp.
func unpackKernel(ctx context.Context, dir, pkg string, log *slog.Logger) (*Kernel, error) {
	removeLeftovers(filepath.Join(dir, "*.tmp-*"))
	start := time.Now()
	dl, err := os.MkdirTemp(dir, "download.tmp-")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	defer os.RemoveAll(dl)
	log.Info("vm: downloading kernel package", "package", pkg)
	if _, err := runTool(ctx, dl, "apt-get", "download", "-q", pkg); err != nil {
		return nil, fmt.Errorf("vm: download kernel: %w", err)
	}
	debs, _ := filepath.Glob(filepath.Join(dl, pkg+"_*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("vm: download kernel: expected one %s_*.deb, found %d", pkg, len(debs))
	}
	tmpRoot, err := os.MkdirTemp(dir, pkg+".tmp-")
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = os.RemoveAll(tmpRoot)
		}
	}()
	log.Info("vm: unpacking kernel package", "deb", filepath.Base(debs[0]), "download", time.Since(start).Round(time.Millisecond))
	if _, err := runTool(ctx, dl, "dpkg", "-x", debs[0], tmpRoot); err != nil {
		return nil, fmt.Errorf("vm: unpack kernel: %w", err)
	}
	k := &Kernel{Package: pkg}
	for _, base := range []string{"lib", filepath.Join("usr", "lib")} {
		rels, _ := os.ReadDir(filepath.Join(tmpRoot, base, "modules"))
		if len(rels) == 1 && rels[0].IsDir() {
			k.Release = rels[0].Name()
			if _, err := runTool(ctx, dl, "depmod", "-b", filepath.Join(tmpRoot, strings.TrimSuffix(base, "lib")), k.Release); err != nil {
				return nil, fmt.Errorf("vm: depmod: %w", err)
			}
			break
		}
	}
	if k.Release == "" {
		return nil, fmt.Errorf("vm: %s: no single lib/modules/<release> directory", pkg)
	}
	if err := k.locate(tmpRoot); err != nil {
		return nil, err
	}
	data, err := json.Marshal(k)
	if err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmpRoot, stampName), data, 0o644); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	root := filepath.Join(dir, pkg)
	if err := os.RemoveAll(root); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	if err := os.Rename(tmpRoot, root); err != nil {
		return nil, fmt.Errorf("vm: %w", err)
	}
	ok = true
	if err := k.locate(root); err != nil {
		return nil, err
	}
	log.Info("vm: kernel prepared", "package", pkg, "release", k.Release, "took", time.Since(start).Round(time.Millisecond))
	return k, nil
}
