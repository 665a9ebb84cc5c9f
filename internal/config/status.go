package config

import "errors"

// Exit statuses of a configuration test (keepalived -t). keepalived 2.2.7
// exits 0 when it logged no configuration problem and ExitConfigProblems
// when it logged at least one; keepalived-go keeps those two and adds
// ExitRefused for a file its daemon would refuse to start or reload with.
const (
	// ExitOK: the configuration was read without a problem.
	ExitOK = 0
	// ExitRefused: the configuration has errors (for example a structural
	// problem or an include loop) and the daemon would not use it.
	// keepalived 2.2.7 has no such class: it exits ExitConfigProblems.
	ExitRefused = 1
	// ExitConfigProblems is keepalived's KEEPALIVED_EXIT_CONFIG_TEST: the
	// daemon would run, but a keyword or value was skipped or replaced by
	// its default (each one is reported as a warning).
	ExitConfigProblems = 5
)

// TestStatus returns the exit status of a configuration test from the
// results of [Parse] or [ParseFile] (plus any warnings the caller adds,
// for example the daemon's own checks): ExitRefused when err is not nil,
// ExitConfigProblems when there is a warning other than a
// [WarningNoEffect] one, ExitOK otherwise. A keyword that keepalived
// knows and keepalived-go accepts without acting on it is not a problem
// of the file, so those warnings alone give ExitOK, as keepalived does.
func TestStatus(warns []Warning, err error) int {
	if err != nil {
		var list ErrorList
		if errors.As(err, &list) && len(list) == 0 {
			err = nil
		}
	}
	if err != nil {
		return ExitRefused
	}
	for _, w := range warns {
		if w.Kind != WarningNoEffect {
			return ExitConfigProblems
		}
	}
	return ExitOK
}
