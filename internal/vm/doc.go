// Package vm runs Go tests inside a qemu virtual machine that boots a Debian
// kernel with the IPVS (ip_vs) modules, for the tests that need kernel
// features the host lacks. It is the kernel-VM test tier of keepalived-go
// (see LAB.md §3–4 of the project notes for the measured recipe).
//
// # Writing kernel tests
//
// A package with kernel tests calls Main from its TestMain and names those
// tests TestKernel…:
//
//	func TestMain(m *testing.M) { vm.Main(m) }
//
//	func TestKernelApply(t *testing.T) {
//		testutil.RequireIPVS(t) // skips on the host, passes in the VM
//		// ... use ip_vs; `ipvsadm -Ln` is available for cross-checks ...
//	}
//
// On the host, Main just runs the tests. When the test binary is the VM's
// init (PID 1), Main mounts /proc, /sys, /dev (devtmpfs), /tmp and /run
// (tmpfs), brings lo up (without it IPVS rejects IPv4 real servers), loads
// the modules listed in /lib/modules/$(uname -r)/load-order with
// finit_module, reads the test flags and environment passed by the host,
// changes to /pkg (where the package's testdata/ is), runs the tests, prints
// "VMTEST EXIT <code> <nonce>" and powers the VM off. Use InGuest to tell the
// two apart, e.g. to keep a test read-only on the host. MainFunc is the
// variant for a TestMain that wraps m.Run.
//
// # Running them
//
// The command internal/cmd/vmexec is a `go test -exec` wrapper around
// RunTest. The test binary must be static, so cgo (and -race) must be off:
//
//	go build -o bin/vmexec ./internal/cmd/vmexec
//	CGO_ENABLED=0 go test -count=1 -exec "$PWD/bin/vmexec" -run '^TestKernel' -v ./ipvs/ ./internal/vm/
//
// The host tiers run with -skip '^TestKernel'. The test flags and the
// forwarded environment travel in the initramfs (files under /vmtest), not
// on the kernel command line, so they have no length limit and any byte but
// NUL survives.
//
// # What the runner does
//
// PrepareKernel resolves the kernel package linux-image-amd64 depends on
// (apt-cache depends), fetches it with apt-get download into the cache
// directory (DefaultDir: <module root>/.cache/vm, or $KEEPALIVED_GO_VM_DIR),
// unpacks it with dpkg -x, runs depmod -b on it and extracts the
// uncompressed ELF kernel from the bzImage. Nothing is installed on the
// host. The result is stamped and reused: later calls cost a few file reads.
// WriteInitramfs builds an uncompressed newc cpio archive in Go: a static
// busybox (package busybox-static) with its applet links, the module files
// for DefaultModules with their dependencies (crc32c_generic first), ipvsadm
// with the shared libraries and loader ldd lists, the package's testdata,
// the test binary as /init and the /vmtest files. Boot runs
// qemu-system-x86_64 with TCG (KVM does not work on these machines), 1 GiB of
// memory and no devices but a serial console; it boots the ELF kernel
// through its PVH entry point, which skips the firmware and the kernel's
// self-decompression and halves the boot time under emulation (the bzImage
// is the fallback). It streams the test output, stops qemu as soon as the
// guest's exit line arrives and returns the exit code from it. A timeout or
// a cancelled context kills qemu; so does the death of the calling process.
//
// Host requirements: qemu-system-x86, busybox-static, kmod (depmod), ipvsadm,
// apt and dpkg with package lists (apt-get update). Root is not needed to run
// the VM; the TestIntegration test in this package asks for it like the
// other integration tiers.
package vm
