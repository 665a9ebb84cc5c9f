package main

import (
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
)

// This file owns track_process matching: which processes of a scan
// (system.processes, /proc) are instances of a tracked process, the
// quorum, and the fork/terminate delay debouncing. keepalived follows
// process events through the proc connector; polling needs no privilege
// beyond reading /proc. The polling itself is in track.go.

// procInfo is one running process: its name (comm) and command line.
type procInfo struct {
	comm string
	argv []string
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
