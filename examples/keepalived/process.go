package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
)

// This file implements track_process by polling /proc (keepalived follows
// process events through the proc connector; polling needs no privilege
// beyond reading /proc).

const trackProcessPrefix = "process:"

// procInfo is one running process: its name (comm) and command line.
type procInfo struct {
	comm string
	argv []string
}

// scanProcs reads every process in root (normally /proc).
func scanProcs(root string) []procInfo {
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	var out []procInfo
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(root, e.Name(), "comm"))
		if err != nil {
			continue
		}
		cmd, _ := os.ReadFile(filepath.Join(root, e.Name(), "cmdline"))
		var argv []string
		if len(cmd) > 0 {
			argv = strings.Split(string(bytes.TrimSuffix(cmd, []byte{0})), "\x00")
		}
		out = append(out, procInfo{comm: strings.TrimSpace(string(comm)), argv: argv})
	}
	return out
}

// matchProcess reports whether p is an instance of the tracked process:
// its name (comm, or argv[0] with full_command) and its parameters (all of
// them by default; a prefix with param_match initial; a prefix whose last
// element may be cut short with param_match partial).
func matchProcess(tp *config.TrackProcess, p procInfo) bool {
	if tp.FullCommand {
		if len(p.argv) == 0 || p.argv[0] != tp.Process {
			return false
		}
	} else {
		name := tp.Process
		if len(name) > 15 {
			name = name[:15] // the kernel's comm length
		}
		if p.comm != name {
			return false
		}
	}
	if len(tp.Params) == 0 {
		return true
	}
	var args []string
	if len(p.argv) > 1 {
		args = p.argv[1:]
	}
	switch tp.ParamMatch {
	case "":
		if len(args) != len(tp.Params) {
			return false
		}
	default:
		if len(args) < len(tp.Params) {
			return false
		}
	}
	for i, want := range tp.Params {
		last := i == len(tp.Params)-1
		if tp.ParamMatch == "partial" && last {
			if !strings.HasPrefix(args[i], want) {
				return false
			}
			continue
		}
		if args[i] != want {
			return false
		}
	}
	return true
}

// processUp applies the quorum to a count of matching processes.
func processUp(tp *config.TrackProcess, n int) bool {
	q := max(tp.Quorum, 1)
	return n >= q && (tp.QuorumMax == 0 || n <= tp.QuorumMax)
}

// procState is the debounced state of one tracked process.
type procState struct {
	up      bool
	pending bool      // the raw state differs from up
	since   time.Time // when the raw state started to differ
}

// step feeds the raw state at now and reports whether the debounced state
// changed: a change is reported once it has held for fork_delay (up) or
// terminate_delay (down), delay standing in for either.
func (s *procState) step(tp *config.TrackProcess, raw bool, now time.Time) bool {
	if raw == s.up {
		s.pending = false
		return false
	}
	if !s.pending {
		s.pending, s.since = true, now
	}
	d := tp.Delay
	if raw && tp.ForkDelay > 0 {
		d = tp.ForkDelay
	}
	if !raw && tp.TermDelay > 0 {
		d = tp.TermDelay
	}
	if now.Sub(s.since) < d {
		return false
	}
	s.up, s.pending = raw, false
	return true
}

// pollProcesses follows the tracked processes of every instance.
func (d *daemon) pollProcesses() {
	states := map[string]*procState{}
	d.every(500*time.Millisecond, func() {
		d.mu.Lock()
		tracking := false
		for _, i := range d.insts {
			tracking = tracking || len(i.procs) > 0
		}
		d.mu.Unlock()
		if !tracking {
			return
		}
		procs := scanProcs("/proc")
		now := time.Now()
		d.mu.Lock()
		cfg := d.cfg
		var insts []*instance
		for _, i := range d.insts {
			if len(i.procs) > 0 {
				insts = append(insts, i)
			}
		}
		for ti := range cfg.TrackProcesses {
			tp := &cfg.TrackProcesses[ti]
			n := countMatches(tp, procs)
			raw := processUp(tp, n)
			st, ok := states[tp.Name]
			changed := false
			if !ok {
				st = &procState{up: raw}
				states[tp.Name] = st
				changed = !raw // objects start up in vrrp
			} else {
				changed = st.step(tp, raw, now)
			}
			// Asserted on every poll, so that instances started since
			// (reload) follow the debounced state too.
			d.setProcess(insts, tp.Name, st.up, n, changed)
		}
		d.mu.Unlock()
	})
}

// setProcess reports a tracked process's state. Called with d.mu held.
func (d *daemon) setProcess(insts []*instance, name string, up bool, n int, changed bool) {
	for _, i := range insts {
		for _, p := range i.procs {
			if p == name {
				if changed {
					d.log.Info("tracked process", "process", name, "up", up, "count", n, "instance", i.name)
				}
				i.inst.SetTracked(trackProcessPrefix+name, up)
			}
		}
	}
}

// countProcesses counts the running instances of a tracked process.
func countProcesses(tp *config.TrackProcess) int {
	return countMatches(tp, scanProcs("/proc"))
}

// countMatches counts the processes of procs that are instances of tp.
func countMatches(tp *config.TrackProcess, procs []procInfo) int {
	n := 0
	for _, p := range procs {
		if matchProcess(tp, p) {
			n++
		}
	}
	return n
}
