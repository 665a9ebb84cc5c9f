package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/vm"
)

func TestGuestArgs(t *testing.T) {
	in := []string{"-test.paniconexit0", "-test.testlogfile=/tmp/go-build1/testlog.txt", "-test.timeout=10m0s",
		"-test.testlogfile", "/tmp/x", "-test.run=^TestKernel", "-test.v=true", "arg with space"}
	want := []string{"-test.paniconexit0", "-test.timeout=10m0s", "-test.run=^TestKernel", "-test.v=true", "arg with space"}
	if diff := cmp.Diff(want, guestArgs(in)); diff != "" {
		t.Errorf("guestArgs (-want +got):\n%s", diff)
	}
}

func TestGuestEnv(t *testing.T) {
	in := []string{"PATH=/usr/bin", "HOME=/root", "KEEPALIVED_GO_REQUIRE_ALL=1", vm.EnvDir + "=/cache",
		envVerbose + "=1", envModules + "=ipip", "GOTRACEBACK=all", "GODEBUG=x=1", "GOFLAGS=-race", "KEEPALIVED_GO_X=a=b"}
	want := []string{"KEEPALIVED_GO_REQUIRE_ALL=1", "GOTRACEBACK=all", "GODEBUG=x=1", "KEEPALIVED_GO_X=a=b"}
	if diff := cmp.Diff(want, guestEnv(in)); diff != "" {
		t.Errorf("guestEnv (-want +got):\n%s", diff)
	}
}

func TestPickTimeout(t *testing.T) {
	tests := []struct {
		env     string
		args    []string
		want    time.Duration
		wantErr bool
	}{
		{"", nil, vm.DefaultTimeout, false},
		{"", []string{"-test.timeout=10m0s"}, 12 * time.Minute, false},
		{"", []string{"-test.timeout", "30s"}, 30*time.Second + 2*time.Minute, false},
		{"", []string{"-test.timeout=0s"}, vm.DefaultTimeout, false},
		{"90s", []string{"-test.timeout=10m0s"}, 90 * time.Second, false},
		{"soon", nil, 0, true},
		{"-1s", nil, 0, true},
	}
	for _, tt := range tests {
		got, err := pickTimeout(tt.env, tt.args)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("pickTimeout(%q, %q) = %v, %v; want %v, err=%v", tt.env, tt.args, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(nil, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Errorf("run() = %d, stderr %q; want 2 and usage", code, stderr.String())
	}
}

func TestRunDynamicBinary(t *testing.T) {
	// A dynamically linked binary is refused before anything is prepared
	// or run.
	var stdout, stderr bytes.Buffer
	t.Setenv(vm.EnvDir, t.TempDir())
	t.Setenv(envTimeout, "")
	code := run([]string{"/usr/sbin/ipvsadm"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "vm: test binary") {
		t.Errorf("run(dynamic binary) = %d, stderr %q; want non-zero and a test binary error", code, stderr.String())
	}
}

func TestRunPattern(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"-test.run=^TestKernel"}, "^TestKernel"},
		{[]string{"-test.run", "A|B", "-test.v"}, "A|B"},
		{[]string{"-test.run=x", "--test.run=y"}, "y"},
	}
	for _, tt := range tests {
		if got := runPattern(tt.args); got != tt.want {
			t.Errorf("runPattern(%q) = %q; want %q", tt.args, got, tt.want)
		}
	}
}

func TestParseList(t *testing.T) {
	out := "TestKernelSmoke\nTestKernelArgs\nBenchmarkX\nExampleMain\nFuzzParse\nsetup: done\nok  \tpkg\n"
	want := []string{"TestKernelSmoke", "TestKernelArgs", "FuzzParse"}
	if diff := cmp.Diff(want, parseList(out)); diff != "" {
		t.Errorf("parseList (-want +got):\n%s", diff)
	}
}

func TestSplitList(t *testing.T) {
	if diff := cmp.Diff([]string{"ipip", "fou", "ip_gre"}, splitList(" ipip,fou, ip_gre,")); diff != "" {
		t.Errorf("splitList (-want +got):\n%s", diff)
	}
	if got := splitList(""); len(got) != 0 {
		t.Errorf("splitList(\"\") = %q", got)
	}
}
