package vm

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// fakeQEMU writes a shell script standing in for qemu-system-x86_64.
func fakeQEMU(t *testing.T, script string) string {
	t.Helper()
	testutil.RequireCommand(t, "sh")
	p := filepath.Join(t.TempDir(), "qemu")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBootFake(t *testing.T) {
	const nonce = "feedc0de"
	tests := []struct {
		name       string
		script     string
		timeout    time.Duration
		wantCode   int
		wantErr    error
		wantErrMsg string
		wantOut    string
	}{
		{
			name: "exit code from marker",
			script: `printf 'SeaBIOS\r\n[ 1.0] boot\r\nVMTEST START ` + nonce + `\r\n--- FAIL: TestX\r\nFAIL\r\nVMTEST EXIT 3 ` + nonce + `\r\n[ 2.0] reboot: Power down\r\n'
exit 0`,
			wantCode: 3,
			wantOut:  "--- FAIL: TestX\nFAIL\n",
		},
		{
			name:     "qemu is stopped at the exit line",
			script:   `printf 'VMTEST START ` + nonce + `\r\nVMTEST EXIT 0 ` + nonce + `\r\n'; exec sleep 60`,
			wantCode: 0,
		},
		{
			name:       "init exited",
			script:     `printf 'VMTEST START ` + nonce + `\r\npanic: boom\r\n[ 1.9] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200\r\n'`,
			wantCode:   2,
			wantErr:    ErrNoExitMarker,
			wantErrMsg: "status 2",
			wantOut:    "panic: boom\n[ 1.9] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200\n",
		},
		{
			name:       "qemu fails before the guest starts",
			script:     "echo 'early boot message'\necho 'qemu: could not load kernel' >&2\nexit 1",
			wantCode:   1,
			wantErr:    ErrNoExitMarker,
			wantErrMsg: "could not load kernel",
			wantOut:    "early boot message\n",
		},
		// The timeout is generous: the fake must print its two lines
		// before the deadline even on a loaded machine.
		{
			name:       "timeout kills qemu",
			script:     `printf 'VMTEST START ` + nonce + `\r\nhanging\r\n'; exec sleep 60`,
			timeout:    2 * time.Second,
			wantCode:   1,
			wantErrMsg: "did not finish within",
			wantOut:    "hanging\n",
		},
		{
			name:       "child keeps the console open",
			script:     `printf 'VMTEST START ` + nonce + `\r\n'; sleep 1 & exit 0`,
			wantCode:   1,
			wantErr:    ErrNoExitMarker,
			wantErrMsg: "exit marker",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code, err := Boot(context.Background(), BootConfig{
				Kernel: "vmlinuz", Initrd: "initrd", Nonce: nonce,
				QEMU: fakeQEMU(t, tt.script), Timeout: tt.timeout, Output: &out,
			})
			if code != tt.wantCode {
				t.Errorf("code = %d; want %d", code, tt.wantCode)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v; want %v", err, tt.wantErr)
			}
			if (tt.wantErrMsg == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErrMsg)) {
				t.Errorf("err = %v; want containing %q", err, tt.wantErrMsg)
			}
			if diff := cmp.Diff(tt.wantOut, out.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBootCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Boot(ctx, BootConfig{Kernel: "k", Initrd: "i", Nonce: "n", QEMU: fakeQEMU(t, "exec sleep 60")})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
	if _, err := Boot(context.Background(), BootConfig{}); err == nil {
		t.Error("empty config accepted")
	}
}

func TestQEMUArgs(t *testing.T) {
	got := strings.Join(qemuArgs(BootConfig{Kernel: "/k/vmlinuz", Initrd: "/tmp/i.cpio"}), " ")
	want := "-accel tcg -m 1024 -nodefaults -display none -serial stdio -no-reboot -kernel /k/vmlinuz -initrd /tmp/i.cpio -append console=ttyS0 quiet panic=-1 no_timer_check"
	if got != want {
		t.Errorf("qemuArgs =\n%s\nwant\n%s", got, want)
	}
}
