package vm

import (
	"bufio"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// Flags for the guest-side tests, set by TestIntegrationBoot.
var (
	flagEcho = flag.String("vm.echo", "", "TestKernelArgs: expect this value here and in $KEEPALIVED_GO_VM_ECHO")
	flagFail = flag.Bool("vm.fail", false, "TestKernelArgs: fail deliberately")
	flagExit = flag.Int("vm.exit", -1, "TestKernelArgs: call os.Exit with this code (crash path)")
)

// TestKernelSmoke checks the VM's kernel side: ip_vs loaded with
// /proc/net/ip_vs, every module of the load order present, and ipvsadm
// working (with a service and an IPv4 real server, which needs lo up). On
// the host it only reads: it never changes the host's IPVS table.
func TestKernelSmoke(t *testing.T) {
	testutil.RequireIPVS(t)
	ipvsadm := testutil.RequireCommand(t, "ipvsadm")
	out, err := exec.Command(ipvsadm, "-Ln").CombinedOutput()
	if err != nil {
		t.Fatalf("ipvsadm -Ln: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "IP Virtual Server") {
		t.Fatalf("ipvsadm -Ln printed no header:\n%s", out)
	}
	if !InGuest() {
		return
	}

	loaded := loadedModules(t)
	release, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	order, err := os.ReadFile(filepath.Join("/lib/modules", strings.TrimSpace(string(release)), loadOrderName))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(strings.TrimSpace(string(order)), "\n") {
		if name := moduleName(line); !loaded[name] {
			t.Errorf("module %s (from load-order) is not in /proc/modules", name)
		}
	}
	for _, name := range []string{"ip_vs", "ip_vs_rr", "ip_vs_mh", "nf_conntrack"} {
		if !loaded[name] {
			t.Errorf("module %s not loaded", name)
		}
	}

	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(ipvsadm, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ipvsadm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("-A", "-t", "192.0.2.10:80", "-s", "rr")
	t.Cleanup(func() { _ = exec.Command(ipvsadm, "-D", "-t", "192.0.2.10:80").Run() })
	run("-a", "-t", "192.0.2.10:80", "-r", "192.0.2.20:8080", "-m", "-w", "3")
	list := run("-Ln")
	for _, want := range []string{"TCP  192.0.2.10:80 rr", "192.0.2.20:8080", "Masq    3"} {
		if !strings.Contains(list, want) {
			t.Errorf("ipvsadm -Ln lacks %q:\n%s", want, list)
		}
	}
	proc, err := os.ReadFile("/proc/net/ip_vs")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(proc), "C000020A:0050") { // 192.0.2.10:80
		t.Errorf("/proc/net/ip_vs lacks the service:\n%s", proc)
	}
}

// TestKernelArgs checks what the host passes into the guest: arguments
// (spaces and quotes intact), environment, working directory and testdata.
func TestKernelArgs(t *testing.T) {
	if !InGuest() {
		testutil.Skip(t, "checks the VM's init; runs only inside the VM (go test -exec vmexec)")
		return
	}
	if *flagExit >= 0 {
		os.Exit(*flagExit)
	}
	if *flagFail {
		t.Fatal("deliberate failure requested with -vm.fail")
	}
	if got := os.Getenv("KEEPALIVED_GO_VM_ECHO"); got != *flagEcho {
		t.Errorf("$KEEPALIVED_GO_VM_ECHO = %q, -vm.echo = %q; want equal", got, *flagEcho)
	}
	wd, err := os.Getwd()
	if err != nil || wd != GuestPkgDir {
		t.Errorf("working directory = %q, %v; want %s", wd, err, GuestPkgDir)
	}
	data, err := os.ReadFile("testdata/guest.txt")
	if err != nil || string(data) != "hello from the host\n" {
		t.Errorf("testdata/guest.txt = %q, %v", data, err)
	}
	if os.Getenv("PATH") == "" || os.Getenv(EnvGuest) != "1" {
		t.Errorf("PATH=%q %s=%q", os.Getenv("PATH"), EnvGuest, os.Getenv(EnvGuest))
	}
}

func loadedModules(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("/proc/modules")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, _, ok := strings.Cut(sc.Text(), " "); ok {
			set[name] = true
		}
	}
	return set
}
