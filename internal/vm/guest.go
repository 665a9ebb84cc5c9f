package vm

import "os"

// EnvGuest is set to "1" in the guest's environment, so that programs the
// tests start can tell they run in the VM.
const EnvGuest = "KEEPALIVED_GO_VM_GUEST"

// M is what Main needs from a *testing.M.
type M interface{ Run() int }

// InGuest reports whether the process runs inside the test VM: it is the
// VM's init (PID 1) or a child of it, and the initramfs files written by the
// host are present. A test binary that happens to be PID 1 elsewhere (a
// container) is not mistaken for the guest.
func InGuest() bool {
	if _, err := os.Stat(guestNonce); err != nil {
		return false
	}
	return os.Getpid() == 1 || os.Getenv(EnvGuest) == "1"
}

// Main is the TestMain body of a package with kernel-VM tests:
//
//	func TestMain(m *testing.M) { vm.Main(m) }
//
// On the host it runs m.Run() and returns; the testing package then exits
// with its code. As the VM's init it prepares the guest (mounts, lo up,
// modules loaded, arguments and environment from the host, working
// directory /pkg), runs m.Run(), prints the exit line for the host and
// powers the VM off: it never returns there.
func Main(m M) {
	MainFunc(m.Run)
}

// MainFunc is Main for a TestMain that does more around m.Run (a leak
// check, say):
//
//	func TestMain(m *testing.M) {
//		os.Exit(vm.MainFunc(func() int { code := m.Run(); /* ... */ return code }))
//	}
//
// On the host it returns run(). In the guest it sets up, calls run, reports
// its result to the host and powers off; it never returns there.
func MainFunc(run func() int) int {
	if os.Getpid() != 1 || !InGuest() {
		return run()
	}
	return guestMain(run) // powers off on Linux: does not return
}
