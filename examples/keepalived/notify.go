package main

// This file owns the daemon's notifications: notify scripts (run without a
// shell, as their user, bounded by the script timeout) and the notify_fifo
// (its line format and the pipe). The notifier belongs to the daemon's
// loop: only the loop calls it.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
)

// notifier runs notify scripts and writes notify_fifo lines.
type notifier struct {
	log     *slog.Logger
	met     *metrics
	sys     system
	timeout time.Duration
	scripts *sync.WaitGroup // running scripts; the daemon waits for them at exit

	fifo                    *fifo
	scriptUser, scriptGroup string // global_defs script_user
}

// configure opens (or reopens) the notify FIFO named by cfg and takes its
// default script user.
func (n *notifier) configure(cfg *config.Config) {
	n.scriptUser, n.scriptGroup = cfg.Global.ScriptUser, cfg.Global.ScriptGroup
	path := cfg.Global.VRRPNotifyFifo.Script
	if path == "" {
		path = cfg.Global.NotifyFifo.Script
	}
	if n.fifo != nil && n.fifo.path == path {
		return
	}
	n.close()
	if path == "" {
		return
	}
	f, err := openFifo(path)
	if err != nil {
		n.log.Error("notify_fifo", "path", path, "err", err)
		return
	}
	n.fifo = f
}

// close closes the FIFO.
func (n *notifier) close() {
	if n.fifo != nil {
		n.fifo.close()
		n.fifo = nil
	}
}

// line writes one line to the notify FIFO, if any.
func (n *notifier) line(line string) {
	if n.fifo == nil {
		return
	}
	if err := n.fifo.write(line); err != nil {
		n.log.Warn("notify_fifo write", "err", err)
	}
}

// transition notifies a state change of an instance ("INSTANCE") or a
// sync group ("GROUP"): the FIFO line, the state's script, then the
// generic notify script with keepalived's arguments.
// stateWhat and genericWhat label the scripts in metrics and logs.
func (n *notifier) transition(typ, name, state string, prio int, stateScript, generic config.Notify, stateWhat, genericWhat string) {
	n.line(fifoLine(typ, name, state, prio))
	n.run(stateScript, nil, stateWhat)
	n.run(generic, notifyExtra(typ, name, state, prio), genericWhat)
}

// run starts the notify script s with extra arguments appended, as s's
// user (or global_defs script_user), bounded by the script timeout; its
// process group is killed when the timeout passes.
func (n *notifier) run(s config.Notify, extra []string, what string) {
	args := s.Args()
	if len(args) == 0 {
		return
	}
	args = append(args, extra...)
	usr, grp := s.User, s.Group
	if usr == "" {
		usr, grp = n.scriptUser, n.scriptGroup
	}
	var cred *syscall.Credential
	if usr != "" {
		c, err := credential(usr, grp)
		if err != nil {
			n.log.Error("notify script not run", "script", args[0], "user", usr, "err", err)
			n.met.script(what, false)
			return
		}
		cred = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	wait, err := n.sys.startScript(ctx, scriptCmd{Args: args, Cred: cred})
	if err != nil {
		cancel()
		n.met.script(what, false)
		n.log.Warn("notify script failed", "script", args[0], "what", what, "err", err)
		return
	}
	n.scripts.Go(func() {
		defer cancel()
		err := wait()
		n.met.script(what, err == nil)
		if err != nil {
			n.log.Warn("notify script failed", "script", args[0], "what", what, "err", err)
			return
		}
		n.log.Debug("notify script done", "script", args[0], "what", what)
	})
}

// notifyExtra returns the arguments appended to the generic notify
// script for a transition: "INSTANCE" (or "GROUP") name state priority, as
// keepalived passes them.
func notifyExtra(typ, name, state string, prio int) []string {
	return []string{typ, name, state, strconv.Itoa(prio)}
}

// fifoLine is the notify_fifo line of a transition.
func fifoLine(typ, name, state string, prio int) string {
	if typ == "GROUP" {
		return fmt.Sprintf("GROUP %q %s\n", name, state)
	}
	return fmt.Sprintf("%s %q %s %d\n", typ, name, state, prio)
}

// fifo is keepalived's notify_fifo: a named pipe (created if missing) or
// a regular file that receives one line per state change.
type fifo struct {
	path string
	f    *os.File
}

func openFifo(path string) (*fifo, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := syscall.Mkfifo(path, 0o600); err != nil {
			return nil, fmt.Errorf("mkfifo %s: %w", path, err)
		}
	}
	// O_RDWR on a FIFO never blocks on open, and writes do not fail
	// when no reader is present (they fill the pipe buffer, then
	// O_NONBLOCK makes them fail instead of blocking the daemon).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|syscall.O_NONBLOCK, 0o600)
	if err != nil {
		return nil, err
	}
	return &fifo{path: path, f: f}, nil
}

func (f *fifo) write(line string) error {
	_, err := f.f.WriteString(line)
	return err
}

func (f *fifo) close() { f.f.Close() }

// credential looks up a user (name or uid) and optional group (name or
// gid; default: the user's primary group).
func credential(usr, grp string) (*syscall.Credential, error) {
	u, err := user.Lookup(usr)
	if err != nil {
		if u, err = user.LookupId(usr); err != nil {
			return nil, err
		}
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gidS := u.Gid
	if grp != "" {
		g, err := user.LookupGroup(grp)
		if err != nil {
			if g, err = user.LookupGroupId(grp); err != nil {
				return nil, err
			}
		}
		gidS = g.Gid
	}
	gid, err := strconv.ParseUint(gidS, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}
