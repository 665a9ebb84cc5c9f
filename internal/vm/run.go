package vm

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// Options configures RunTest: one boot of one test binary.
type Options struct {
	// Dir is the kernel cache directory; "" means DefaultDir.
	Dir string
	// Binary is the static test binary (go test -c with CGO_ENABLED=0).
	Binary string
	// Args are the test binary's arguments, e.g. "-test.run=^TestKernel".
	// They travel in the initramfs, not on the kernel command line, so any
	// byte but NUL survives and there is no length limit.
	Args []string
	// Env are extra KEY=VALUE entries for the test binary's environment.
	Env []string
	// TestData, if not empty, is copied to /pkg/testdata (the tests run in
	// /pkg).
	TestData string
	// Modules and Binaries override DefaultModules and DefaultBinaries.
	Modules, Binaries []string
	// Compress gzips the initramfs. It is smaller but slower to build, and
	// the guest has to decompress it under emulation: off by default.
	Compress bool
	// MemoryMB, Timeout, Output, Verbose and QEMU are as in BootConfig.
	MemoryMB int
	Timeout  time.Duration
	Output   io.Writer
	Verbose  bool
	QEMU     string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// Result is the outcome of RunTest.
type Result struct {
	// ExitCode is the test binary's exit code (1 when it is unknown).
	ExitCode int
	// Kernel is the kernel that was booted.
	Kernel *Kernel
	// Prepare, Initramfs and Boot are the wall times of each step.
	Prepare, Initramfs, Boot time.Duration
	// InitramfsBytes is the size of the initramfs.
	InitramfsBytes int64
}

// NewNonce returns a random token for Image.Nonce and BootConfig.Nonce.
func NewNonce() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("vm: nonce: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// RunTest prepares the kernel (cached), builds an initramfs with the test
// binary as init, boots it and returns the test binary's exit code. The
// error is non-nil when the code could not be read from the guest (see
// Boot); Result is never nil.
func RunTest(ctx context.Context, opts Options) (*Result, error) {
	res := &Result{ExitCode: 1}
	if err := CheckStatic(opts.Binary); err != nil {
		return res, err
	}
	t0 := time.Now()
	k, err := PrepareKernel(ctx, KernelConfig{Dir: opts.Dir, Logger: opts.Logger})
	res.Prepare = time.Since(t0)
	if err != nil {
		return res, err
	}
	res.Kernel = k
	nonce, err := NewNonce()
	if err != nil {
		return res, err
	}

	t1 := time.Now()
	f, err := os.CreateTemp("", "keepalived-go-initramfs-*.cpio")
	if err != nil {
		return res, fmt.Errorf("vm: %w", err)
	}
	defer os.Remove(f.Name())
	err = writeImageFile(ctx, f, Image{
		Kernel:   k,
		Init:     opts.Binary,
		Args:     opts.Args,
		Env:      opts.Env,
		TestData: opts.TestData,
		Modules:  opts.Modules,
		Binaries: opts.Binaries,
		Nonce:    nonce,
	}, opts.Compress)
	if fi, serr := f.Stat(); serr == nil {
		res.InitramfsBytes = fi.Size()
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("vm: %w", cerr)
	}
	res.Initramfs = time.Since(t1)
	if err != nil {
		return res, err
	}

	t2 := time.Now()
	code, err := Boot(ctx, BootConfig{
		Kernel:   k.BootImage(),
		Initrd:   f.Name(),
		Nonce:    nonce,
		MemoryMB: opts.MemoryMB,
		Timeout:  opts.Timeout,
		Output:   opts.Output,
		Verbose:  opts.Verbose,
		QEMU:     opts.QEMU,
		Logger:   opts.Logger,
	})
	res.Boot = time.Since(t2)
	res.ExitCode = code
	discardIfNil(opts.Logger).Debug("vm: run finished", "exit", code,
		"prepare", res.Prepare.Round(time.Microsecond), "initramfs", res.Initramfs.Round(time.Millisecond),
		"initramfs_bytes", res.InitramfsBytes, "boot", res.Boot.Round(time.Millisecond))
	return res, err
}

func writeImageFile(ctx context.Context, f *os.File, img Image, compress bool) error {
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var zw *gzip.Writer
	if compress {
		zw, _ = gzip.NewWriterLevel(bw, gzip.BestSpeed)
		w = zw
	}
	err := WriteInitramfs(ctx, w, img)
	if zw != nil {
		err = errors.Join(err, zw.Close())
	}
	if ferr := bw.Flush(); ferr != nil {
		err = errors.Join(err, fmt.Errorf("vm: %w", ferr))
	}
	return err
}
