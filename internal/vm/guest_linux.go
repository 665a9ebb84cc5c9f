package vm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// guestSentinel marks binaries that contain the guest code (see UsesMain).
const guestSentinel = "keepalived-go-vm-guest-init-v1"

// guestMain is the init of the VM: it never returns. It prints the start
// line, sets the guest up, runs the tests, prints the exit line and powers
// off. A setup error is printed and makes the exit code 1 without running
// the tests; a module that fails to load is only reported (the tests that
// need it fail with a clearer message).
func guestMain(run func() int) int {
	nonce, err := os.ReadFile(guestNonce)
	n := strings.TrimSpace(string(nonce))
	if err != nil || n == "" {
		n = "missing-nonce"
	}
	fmt.Fprintln(os.Stdout, formatStart(n))
	// guestSentinel is what UsesMain looks for in a test binary.
	_ = os.Setenv("KEEPALIVED_GO_VM_INIT", guestSentinel)
	code := 1
	if err := setupGuest(); err != nil {
		fmt.Fprintf(os.Stderr, "vm: guest setup: %v\n", err)
	} else {
		code = run()
	}
	powerOff(code, n)
	return code
}

// setupGuest prepares the environment the tests expect.
func setupGuest() error {
	for k, v := range map[string]string{
		"PATH":   "/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME":   "/root",
		"TMPDIR": "/tmp",
		EnvGuest: "1",
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	mounts := []struct {
		fstype, target, data string
		flags                uintptr
	}{
		{"proc", "/proc", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sysfs", "/sys", "", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"devtmpfs", "/dev", "mode=0755", unix.MS_NOSUID},
		{"tmpfs", "/tmp", "mode=1777", unix.MS_NOSUID | unix.MS_NODEV},
		{"tmpfs", "/run", "mode=0755", unix.MS_NOSUID | unix.MS_NODEV},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.fstype, m.target, m.fstype, m.flags, m.data); err != nil && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	_ = unix.Sethostname([]byte("vmtest"))
	if err := linkUp("lo"); err != nil {
		return fmt.Errorf("lo up: %w", err)
	}
	for _, err := range loadModules() {
		fmt.Fprintf(os.Stderr, "vm: %v\n", err)
	}
	if data, err := os.ReadFile(guestEnv); err == nil {
		for _, kv := range decodeList(data) {
			if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
				if err := os.Setenv(k, v); err != nil {
					return err
				}
			}
		}
	}
	data, err := os.ReadFile(guestArgs)
	if err != nil {
		return err
	}
	os.Args = append([]string{os.Args[0]}, decodeList(data)...)
	if _, err := os.Stat(GuestPkgDir); err == nil {
		if err := os.Chdir(GuestPkgDir); err != nil {
			return err
		}
	}
	return nil
}

// linkUp sets IFF_UP on an interface. Without lo up there is no IPv4 local
// table and IPVS rejects every IPv4 real server (LAB.md §3).
func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// loadModules loads the files listed in /lib/modules/<release>/load-order
// with finit_module, in order. Already loaded modules are fine.
func loadModules() []error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return []error{err}
	}
	dir := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	data, err := os.ReadFile(filepath.Join(dir, loadOrderName))
	if err != nil {
		return []error{fmt.Errorf("module load order: %w", err)}
	}
	var errs []error
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if err := loadModule(filepath.Join(dir, line)); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load module: %w", err)
	}
	defer f.Close()
	flags := 0
	if strings.HasSuffix(path, ".xz") || strings.HasSuffix(path, ".zst") || strings.HasSuffix(path, ".gz") {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	if err := unix.FinitModule(int(f.Fd()), "", flags); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("load module %s: %w", filepath.Base(path), err)
	}
	return nil
}

// powerOff prints the exit line, flushes disks and the serial line, and
// powers the VM off. It does not return: init must never exit (the kernel
// would panic; with panic=-1 and qemu -no-reboot that also ends the VM, but
// the exit line might not be out yet).
func powerOff(code int, nonce string) {
	fmt.Fprintln(os.Stdout, formatExit(code, nonce))
	unix.Sync()
	_ = unix.IoctlSetInt(int(os.Stdout.Fd()), unix.TCSBRK, 1) // tcdrain
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	fmt.Fprintf(os.Stderr, "vm: power off: %v\n", err)
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART) // qemu -no-reboot exits on reset
	for {
		time.Sleep(time.Hour)
	}
}
