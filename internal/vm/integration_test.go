package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestIntegrationBoot runs the whole host flow (what vmexec does) on this
// package's own test binary: a passing run exits 0, a deliberately failing
// test exits 1, and a test binary that exits without reporting (init died)
// is detected with its exit status. Each boot takes several seconds of
// emulation; the first run also downloads and unpacks the kernel package.
func TestIntegrationBoot(t *testing.T) {
	if InGuest() {
		t.Skip("already inside the VM")
	}
	if testing.Short() {
		testutil.Skip(t, "boots qemu three times; not in -short mode")
		return
	}
	testutil.RequireRoot(t)
	for _, tool := range []string{"go", "qemu-system-x86_64", "apt-get", "apt-cache", "dpkg", "depmod", "ldd", "ipvsadm"} {
		testutil.RequireCommand(t, tool)
	}
	if _, err := os.Stat(DefaultBusybox); err != nil {
		testutil.Skip(t, "static busybox missing (apt-get install busybox-static): %v", err)
		return
	}

	k, err := PrepareKernel(context.Background(), KernelConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if k.Vmlinux == "" {
		t.Errorf("no vmlinux extracted from %s: booting the slower bzImage", k.Vmlinuz)
	} else if ok, err := hasPVHNote(k.Vmlinux); err != nil || !ok {
		t.Errorf("hasPVHNote(%s) = %v, %v", k.Vmlinux, ok, err)
	}

	bin := filepath.Join(t.TempDir(), "vm.test")
	build := exec.Command("go", "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}

	const echo = `two  spaces, 'single' "double" $HOME ; \ back`
	tests := []struct {
		name        string
		args        []string
		wantCode    int
		wantErr     error
		wantOutputs []string
	}{
		{
			name:        "pass",
			args:        []string{"-test.run=^TestKernel(Smoke|Args)$", "-test.v", "-vm.echo", echo},
			wantCode:    0,
			wantOutputs: []string{"--- PASS: TestKernelSmoke", "--- PASS: TestKernelArgs", "\nPASS\n"},
		},
		{
			name:        "deliberate failure",
			args:        []string{"-test.run=^TestKernelArgs$", "-vm.fail"},
			wantCode:    1,
			wantOutputs: []string{"--- FAIL: TestKernelArgs", "deliberate failure"},
		},
		{
			name:     "init exits",
			args:     []string{"-test.run=^TestKernelArgs$", "-vm.exit=3"},
			wantCode: 3,
			wantErr:  ErrNoExitMarker,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			res, err := RunTest(ctx, Options{
				Binary:   bin,
				Args:     tt.args,
				Env:      []string{"KEEPALIVED_GO_VM_ECHO=" + echo, testutil.RequireAllEnv + "=" + os.Getenv(testutil.RequireAllEnv)},
				TestData: "testdata",
				Timeout:  4 * time.Minute,
				Output:   &out,
			})
			kpkg := "(none)"
			if res.Kernel != nil {
				kpkg = res.Kernel.Package
			}
			t.Logf("kernel %s: prepare %s, initramfs %s (%d bytes), boot→exit %s",
				kpkg, res.Prepare.Round(time.Microsecond), res.Initramfs.Round(time.Millisecond),
				res.InitramfsBytes, res.Boot.Round(time.Millisecond))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("RunTest error = %v; want %v", err, tt.wantErr)
			}
			if res.ExitCode != tt.wantCode {
				t.Errorf("exit code = %d; want %d", res.ExitCode, tt.wantCode)
			}
			for _, want := range tt.wantOutputs {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if t.Failed() {
				t.Logf("guest output:\n%s", out.String())
			}
		})
	}
}
