package vm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// DefaultTimeout bounds one boot when BootConfig.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

// DefaultMemoryMB is the guest memory when BootConfig.MemoryMB is zero.
const DefaultMemoryMB = 1024

// ErrNoExitMarker is returned by Boot when the guest ended without printing
// its exit line: the test binary crashed, called os.Exit, or the kernel
// failed to boot.
var ErrNoExitMarker = errors.New("vm: guest ended without the exit marker")

// BootConfig configures Boot.
type BootConfig struct {
	// Kernel is the kernel image (Kernel.BootImage()): an ELF vmlinux with a
	// PVH entry note or a bzImage; required.
	Kernel string
	// Initrd is the initramfs file; required.
	Initrd string
	// Nonce must match Image.Nonce; required.
	Nonce string
	// MemoryMB is the guest memory; 0 means DefaultMemoryMB.
	MemoryMB int
	// Timeout bounds the whole boot; 0 means DefaultTimeout.
	Timeout time.Duration
	// Output receives the test output (the console between the guest's
	// start and exit lines, "\r\n" turned into "\n"); nil discards it. If
	// the guest fails before the tests start, the boot messages are written
	// too.
	Output io.Writer
	// Verbose streams the whole console, boot messages and markers included.
	Verbose bool
	// QEMU is the emulator binary; "" means qemu-system-x86_64.
	QEMU string
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger
}

// qemuArgs returns the emulator's command line. KVM does not work on the
// machines this runs on (LAB.md §3), so it is always TCG.
func qemuArgs(cfg BootConfig) []string {
	mem := cfg.MemoryMB
	if mem <= 0 {
		mem = DefaultMemoryMB
	}
	return []string{
		"-accel", "tcg",
		"-m", strconv.Itoa(mem),
		"-nodefaults", "-display", "none", "-serial", "stdio",
		"-no-reboot",
		"-kernel", cfg.Kernel,
		"-initrd", cfg.Initrd,
		// no_timer_check: under TCG on a loaded host the guest's early
		// check that the 8254 timer reaches the IO-APIC can miss its window
		// and the kernel panics ("IO-APIC + timer doesn't work!"; seen in
		// a fresh-clone make test beside five other builds). The check
		// guards against broken PC hardware, which qemu's i440FX is not.
		"-append", "console=ttyS0 quiet panic=-1 no_timer_check",
	}
}

// Boot runs the kernel and initramfs under qemu until the guest powers off,
// the timeout passes or ctx is cancelled (qemu is killed in both cases), and
// returns the exit code the guest printed. With no exit line it returns
// ErrNoExitMarker; if the kernel reported that init exited, the code is that
// exit status, else 1.
func Boot(ctx context.Context, cfg BootConfig) (int, error) {
	if cfg.Kernel == "" || cfg.Initrd == "" || cfg.Nonce == "" {
		return 1, errors.New("vm: boot needs Kernel, Initrd and Nonce")
	}
	log := discardIfNil(cfg.Logger)
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	qemu := cfg.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	// The guest's power-off takes a second or two of emulation after the
	// exit line; nothing more is needed from it then, so qemu is stopped
	// as soon as the line arrives.
	runCtx, stopQEMU := context.WithCancel(ctx)
	defer stopQEMU()
	args := qemuArgs(cfg)
	cmd := exec.CommandContext(runCtx, qemu, args...)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 5 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 64 << 10}
	con := &console{nonce: cfg.Nonce, out: cfg.Output, verbose: cfg.Verbose, onExit: stopQEMU}
	lw := &lineWriter{con: con}
	// A writer, not StdoutPipe: Wait then bounds the copy with WaitDelay
	// even if something else keeps the pipe open.
	cmd.Stdout = lw
	log.Debug("vm: starting qemu", "args", strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 1, fmt.Errorf("vm: start qemu: %w", err)
	}
	waitErr := cmd.Wait()
	lw.flush()
	log.Debug("vm: qemu exited", "took", time.Since(start).Round(time.Millisecond), "err", waitErr)

	if con.exited {
		return con.code, nil
	}
	if !con.started {
		con.flushPre()
	}
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return 1, fmt.Errorf("vm: guest did not finish within %s", timeout)
		}
		return 1, fmt.Errorf("vm: boot cancelled: %w", err)
	}
	detail := ""
	if waitErr != nil {
		detail = fmt.Sprintf(" (qemu: %v: %s)", waitErr, strings.TrimSpace(lastBytes(stderr.String(), 2000)))
	}
	if con.panicked {
		code := con.panicCode
		if code == 0 {
			code = 1
		}
		return code, fmt.Errorf("%w: init exited with status %d (test binary crashed or called os.Exit)%s",
			ErrNoExitMarker, con.panicCode, detail)
	}
	return 1, fmt.Errorf("%w%s", ErrNoExitMarker, detail)
}

// lineWriter splits what is written to it into lines for a console.
// Overlong lines are passed on in pieces.
type lineWriter struct {
	con *console
	buf []byte
}

const maxLine = 64 << 10

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.con.line(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	for len(w.buf) >= maxLine {
		w.con.line(w.buf[:maxLine])
		w.buf = w.buf[maxLine:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let the backing array go
	}
	return len(p), nil
}

// flush passes on a final line without newline.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.con.line(w.buf)
		w.buf = nil
	}
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
