package testutil

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"

	"github.com/vishvananda/netns"
)

// RequireAllEnv is the environment variable that turns every skip of the
// helpers in this package into a test failure.
const RequireAllEnv = "KEEPALIVED_GO_REQUIRE_ALL"

// RequireAll reports whether KEEPALIVED_GO_REQUIRE_ALL is set to a true value
// ("1", "true"): then a missing prerequisite fails the test instead of
// skipping it.
func RequireAll() bool {
	v, err := strconv.ParseBool(os.Getenv(RequireAllEnv))
	return err == nil && v
}

// Skip skips the test with the formatted reason, or fails it with the same
// reason when [RequireAll] is true.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("prerequisite missing and "+RequireAllEnv+"=1: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}

// RequireRoot skips the test unless it runs on Linux with effective uid 0 and
// can create a network namespace.
func RequireRoot(t testing.TB) {
	t.Helper()
	if runtime.GOOS != "linux" {
		Skip(t, "needs Linux network namespaces (GOOS=%s)", runtime.GOOS)
		return
	}
	if os.Geteuid() != 0 {
		Skip(t, "needs root (euid %d): run as root or via make test", os.Geteuid())
		return
	}
	if err := probeNetNS(); err != nil {
		Skip(t, "cannot create a network namespace: %v", err)
	}
}

// probeNetNS tries to unshare a network namespace on a locked thread that is
// never unlocked: the runtime terminates the thread when the goroutine ends,
// so no thread is left in the probe namespace.
func probeNetNS() error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		h, err := netns.New()
		if err == nil {
			h.Close()
		}
		errc <- err
	}()
	return <-errc
}

// RequireCommand returns the full path of the named program, or skips the
// test if it is not in PATH.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not found in PATH (make deps installs it): %v", name, err)
		return ""
	}
	return p
}

// RequireIPVS skips the test unless the ip_vs kernel module is loaded
// (/proc/net/ip_vs exists). The host kernel used in CI has no ip_vs; these
// tests are named TestKernel* and run inside the VM tier (make vm).
func RequireIPVS(t testing.TB) {
	t.Helper()
	if _, err := os.Stat("/proc/net/ip_vs"); err != nil {
		Skip(t, "ip_vs not available (/proc/net/ip_vs: %v); run TestKernel* in the VM tier (make vm)", err)
	}
}
