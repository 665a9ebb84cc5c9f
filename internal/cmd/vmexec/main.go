// Command vmexec runs a Go test binary inside a qemu VM booting a Debian
// kernel with the ip_vs modules. It is a `go test -exec` wrapper:
//
//	go build -o bin/vmexec ./internal/cmd/vmexec
//	CGO_ENABLED=0 go test -count=1 -exec "$PWD/bin/vmexec" -run '^TestKernel' -v ./ipvs/
//
// go test runs it as `vmexec /path/pkg.test -test.flags...` in the package
// directory. vmexec prepares the kernel (downloaded once into the cache
// directory), builds an initramfs holding the test binary as /init, the
// package's testdata/ and the test flags, boots it, streams the test output
// and exits with the test binary's exit code.
//
// The test binary must be statically linked: build with CGO_ENABLED=0 and
// without -race. The package's TestMain must call vm.Main (see package
// internal/vm).
//
// Environment:
//
//	KEEPALIVED_GO_VM_DIR      kernel cache directory (default <module root>/.cache/vm)
//	KEEPALIVED_GO_VM_TIMEOUT  bound on one boot (Go duration; default -test.timeout + 2m, else 10m)
//	KEEPALIVED_GO_VM_MEMORY   guest memory in MiB (default 1024)
//	KEEPALIVED_GO_VM_VERBOSE  1: show the whole console and timings on stderr
//	KEEPALIVED_GO_VM_REFRESH  1: ask apt again which kernel linux-image-amd64 depends on
//	KEEPALIVED_GO_VM_MODULES  extra kernel modules to load, comma-separated (after vm.DefaultModules)
//	KEEPALIVED_GO_VM_BINARIES extra host programs to copy with their libraries (after ipvsadm)
//
// Every other KEEPALIVED_GO_* variable (KEEPALIVED_GO_REQUIRE_ALL, say), and
// GODEBUG and GOTRACEBACK, are passed to the test binary.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/internal/vm"
)

const (
	envTimeout = "KEEPALIVED_GO_VM_TIMEOUT"
	envMemory  = "KEEPALIVED_GO_VM_MEMORY"
	envVerbose = "KEEPALIVED_GO_VM_VERBOSE"
	envModules = "KEEPALIVED_GO_VM_MODULES"
	envBins    = "KEEPALIVED_GO_VM_BINARIES"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: vmexec /path/to/pkg.test [-test.flags...]   (a go test -exec wrapper)")
		return 2
	}
	fail := func(code int, err error) int {
		fmt.Fprintf(stderr, "vmexec: %v\n", err)
		return code
	}
	bin, err := filepath.Abs(args[0])
	if err != nil {
		return fail(2, err)
	}
	verbose := os.Getenv(envVerbose) == "1"
	level := slog.LevelInfo // only the one-time kernel preparation logs at Info
	if verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	testArgs := guestArgs(args[1:])
	timeout, err := pickTimeout(os.Getenv(envTimeout), testArgs)
	if err != nil {
		return fail(2, err)
	}
	mem := 0
	if s := os.Getenv(envMemory); s != "" {
		if mem, err = strconv.Atoi(s); err != nil || mem < 128 {
			return fail(2, fmt.Errorf("%s=%q: want MiB >= 128", envMemory, s))
		}
	}
	testdata := ""
	if fi, err := os.Stat("testdata"); err == nil && fi.IsDir() {
		if testdata, err = filepath.Abs("testdata"); err != nil {
			return fail(2, err)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGQUIT)
	defer stop()

	if err := vm.CheckStatic(bin); err != nil {
		return fail(1, err)
	}
	// A package whose TestMain does not call vm.Main cannot run in the VM.
	// That is fine when none of its tests is selected (go test -exec vmexec
	// -run '^TestKernel' ./... reaches every package), an error otherwise.
	aware, err := vm.UsesMain(bin)
	if err != nil {
		return fail(1, err)
	}
	if !aware {
		names, err := listTests(ctx, bin, testArgs)
		if err != nil {
			return fail(1, err)
		}
		if len(names) == 0 {
			fmt.Fprintln(stdout, "testing: warning: no tests to run\nPASS")
			return 0
		}
		fmt.Fprintf(stderr, "vmexec: %s: tests %s match but the package's TestMain does not call vm.Main "+
			"(internal/vm), so they cannot run in the VM\n", filepath.Base(bin), strings.Join(names, ", "))
		return 1
	}
	res, err := vm.RunTest(ctx, vm.Options{
		Binary:   bin,
		Args:     testArgs,
		Env:      guestEnv(os.Environ()),
		TestData: testdata,
		Modules:  append(vm.DefaultModules(), splitList(os.Getenv(envModules))...),
		Binaries: append(vm.DefaultBinaries(), splitList(os.Getenv(envBins))...),
		MemoryMB: mem,
		Timeout:  timeout,
		Output:   stdout,
		Verbose:  verbose,
		Logger:   logger,
	})
	if verbose {
		fmt.Fprintf(stderr, "vmexec: prepare %s, initramfs %s (%d bytes), boot %s, exit %d\n",
			res.Prepare.Round(time.Microsecond), res.Initramfs.Round(time.Millisecond),
			res.InitramfsBytes, res.Boot.Round(time.Millisecond), res.ExitCode)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmexec: %v\n", err)
		if res.ExitCode == 0 {
			return 1
		}
	}
	return res.ExitCode
}

// guestArgs drops the flags that name host files the guest cannot write:
// -test.testlogfile (go test's cache bookkeeping; without it the result is
// simply not cached).
func guestArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		if name == "test.testlogfile" {
			i++ // value in the next argument
			continue
		}
		if strings.HasPrefix(name, "test.testlogfile=") {
			continue
		}
		out = append(out, a)
	}
	return out
}

// flagValues returns the values given to the flag name ("test.run") in
// args, in order, in either form: -name=value or -name value.
func flagValues(args []string, name string) []string {
	var vals []string
	for i, a := range args {
		n, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if n != name {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		vals = append(vals, val)
	}
	return vals
}

// runPattern returns the value of the last -test.run flag, or "".
func runPattern(args []string) string {
	vals := flagValues(args, "test.run")
	if len(vals) == 0 {
		return ""
	}
	return vals[len(vals)-1]
}

// listTests runs the binary on the host with -test.list (which lists and
// runs nothing) and returns the selected tests and fuzz targets.
func listTests(ctx context.Context, bin string, args []string) ([]string, error) {
	pat := runPattern(args)
	if pat == "" {
		pat = "."
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-test.list="+pat).Output()
	if err != nil {
		return nil, fmt.Errorf("%s -test.list: %w", filepath.Base(bin), err)
	}
	return parseList(string(out)), nil
}

// parseList picks the Test and Fuzz names out of -test.list output.
func parseList(out string) []string {
	var names []string
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		if (strings.HasPrefix(line, "Test") || strings.HasPrefix(line, "Fuzz")) && !strings.ContainsAny(line, " \t:") {
			names = append(names, line)
		}
	}
	return names
}

// guestEnv selects the environment passed to the test binary.
func guestEnv(environ []string) []string {
	var out []string
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == vm.EnvDir || k == vm.EnvRefresh || k == envTimeout || k == envMemory || k == envVerbose ||
			k == envModules || k == envBins:
		case strings.HasPrefix(k, "KEEPALIVED_GO_"), k == "GODEBUG", k == "GOTRACEBACK":
			out = append(out, kv)
		}
	}
	return out
}

// splitList splits a comma- or space-separated list.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// pickTimeout returns the bound on one boot: env if set, else the test
// binary's -test.timeout plus two minutes for boot and shutdown, else the
// default.
func pickTimeout(env string, args []string) (time.Duration, error) {
	if env != "" {
		d, err := time.ParseDuration(env)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("%s=%q: want a positive duration", envTimeout, env)
		}
		return d, nil
	}
	for _, val := range flagValues(args, "test.timeout") {
		if d, err := time.ParseDuration(val); err == nil && d > 0 {
			return d + 2*time.Minute, nil
		}
	}
	return vm.DefaultTimeout, nil
}
