// pidfile.go owns the daemon's pid file: one daemon per pid file, as with
// keepalived.
//
// keepalived writes a main pid file (-p, default /run/keepalived.pid) and
// one per child process (-r vrrp, -c checkers, -b bfd). keepalived-go runs
// VRRP, health checks and BFD in one process with no children, so it writes
// the main pid file only; there are no child pid files to write.
//
// The pid file is opened and locked with flock(LOCK_EX|LOCK_NB) for the
// daemon's whole life. A second daemon given the same pid file finds the
// lock taken and refuses to start ("daemon is already running", with the
// pid read from the file) with exit status exitAlreadyRunning, before it
// touches the system; it never writes nor removes the file. The lock goes
// with the process, so a daemon killed with SIGKILL leaves a stale file
// that the next daemon takes over. On exit a daemon removes the file only
// if it is still the file it locked and still holds its pid.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// defaultPidFile is keepalived's default main pid file.
const defaultPidFile = "/run/keepalived.pid"

// exitAlreadyRunning is the exit status of a daemon that refuses to start
// because another one holds its pid file (1 is any other start-up
// failure, 2 a usage error). keepalived 2.2.7 logs the same message and
// exits with status 0.
const exitAlreadyRunning = 3

// errAlreadyRunning is wrapped by the error of lockPidFile when another
// process holds the pid file's lock.
var errAlreadyRunning = errors.New("daemon is already running")

// runningError says which daemon holds the pid file.
type runningError struct {
	Path string
	PID  int // 0 if the file holds no pid (yet)
}

func (e *runningError) Error() string {
	pid := "unknown"
	if e.PID > 0 {
		pid = strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%v (pid %s, pid file %s)", errAlreadyRunning, pid, e.Path)
}

func (e *runningError) Unwrap() error { return errAlreadyRunning }

// pidFile is a pid file locked by this process. The zero value and nil
// are no pid file.
type pidFile struct {
	path    string
	f       *os.File // holds the flock
	content []byte   // what this process wrote
}

// lockPidFile takes the pid file at path for pid: it creates the file if
// needed, locks it (without waiting) and only then writes pid into it. An
// empty path means no pid file (nil, nil). If another process holds the
// lock, the error is a *runningError wrapping errAlreadyRunning and the
// file is left as it was.
func lockPidFile(path string, pid int) (*pidFile, error) {
	if path == "" {
		return nil, nil
	}
	// The holder may remove the file between our open and our lock; then
	// we hold a lock on a file that has no name and try again. Each retry
	// needs another daemon to start and stop meanwhile, so a few suffice.
	for range 8 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			b, _ := io.ReadAll(io.LimitReader(f, 64))
			f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				held, _ := strconv.Atoi(string(bytes.TrimSpace(b)))
				return nil, &runningError{Path: path, PID: held}
			}
			return nil, fmt.Errorf("pid file: lock %s: %w", path, err)
		}
		if !sameFile(f, path) {
			f.Close()
			continue
		}
		p := &pidFile{path: path, f: f, content: []byte(strconv.Itoa(pid) + "\n")}
		if err := p.write(); err != nil {
			f.Close()
			return nil, fmt.Errorf("pid file: write %s: %w", path, err)
		}
		return p, nil
	}
	return nil, fmt.Errorf("pid file: %s keeps being replaced while locking it", path)
}

func (p *pidFile) write() error {
	if err := p.f.Truncate(0); err != nil {
		return err
	}
	if _, err := p.f.WriteAt(p.content, 0); err != nil {
		return err
	}
	return p.f.Sync()
}

// sameFile reports whether path still names the open file f.
func sameFile(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

// Close removes the pid file if path still names the file this process
// locked and it still holds what this process wrote, then releases the
// lock. It is safe on nil and more than once.
func (p *pidFile) Close() error {
	if p == nil || p.f == nil {
		return nil
	}
	var err error
	if sameFile(p.f, p.path) {
		b, rerr := os.ReadFile(p.path)
		if rerr == nil && bytes.Equal(b, p.content) {
			if rmErr := os.Remove(p.path); rmErr != nil {
				err = fmt.Errorf("pid file: %w", rmErr)
			}
		}
	}
	// closing the descriptor releases the flock
	if cerr := p.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("pid file: %w", cerr)
	}
	p.f = nil
	return err
}

// pidFileRefused logs why the pid file could not be taken and returns the
// exit status: exitAlreadyRunning if another daemon holds it, else 1.
func pidFileRefused(log *slog.Logger, err error) int {
	var running *runningError
	if errors.As(err, &running) {
		log.Error(errAlreadyRunning.Error(), "pid", running.PID, "pid_file", running.Path)
		return exitAlreadyRunning
	}
	log.Error("pid file", "err", err)
	return 1
}
