package main

import (
	"bufio"
	"strings"
)

// Outcome is what one fuzzing run of one target amounted to.
type Outcome int

const (
	// Pass: go test exited 0.
	Pass Outcome = iota + 1
	// Finding: a real failure — a failing input was written, the target
	// panicked or called t.Fatal/t.Error, the package did not build, the
	// run timed out, or the failure is anything we cannot prove harmless.
	Finding
	// Flake: the Go 1.26 fuzzing coordinator's race at the end of the run
	// (golang/go#75804): the run failed with a bare "context deadline
	// exceeded" under the target's FAIL line, no failing input was written
	// and nothing else went wrong. It says nothing about the target.
	Flake
)

func (o Outcome) String() string {
	switch o {
	case Pass:
		return "pass"
	case Finding:
		return "finding"
	case Flake:
		return "flake"
	}
	return "unknown"
}

// Run is what classify looks at: how go test ended and what it printed.
type Run struct {
	Target   string // FuzzXxx
	ExitCode int    // go test's exit status
	Output   string // go test's stdout and stderr
	// NewInputs are files that appeared under testdata/fuzz/<Target>
	// during the run: a failing input the fuzzer wrote.
	NewInputs []string
}

// classify decides whether a fuzzing run passed, found something or hit the
// coordinator race. It errs on the side of Finding: only the exact shape of
// the race is a Flake.
func classify(r Run) Outcome {
	if r.ExitCode == 0 {
		return Pass
	}
	if len(r.NewInputs) > 0 ||
		strings.Contains(r.Output, "Failing input written to") ||
		strings.Contains(r.Output, "panic:") ||
		strings.Contains(r.Output, "[build failed]") ||
		strings.Contains(r.Output, "test timed out") {
		return Finding
	}
	body, ok := failBody(r.Output, r.Target)
	if !ok || len(body) != 1 || body[0] != "context deadline exceeded" {
		return Finding
	}
	return Flake
}

// failBody returns the non-empty lines between the target's top-level
// "--- FAIL: Target (…)" line and the next line that is not indented (the
// "FAIL" summary), trimmed. ok is false when there is no such FAIL line or
// the target failed more than once.
func failBody(out, target string) (body []string, ok bool) {
	head := "--- FAIL: " + target + " ("
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	in, seen := false, 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, head):
			in = true
			seen++
		case in && (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") || line == ""):
			if s := strings.TrimSpace(line); s != "" {
				body = append(body, s)
			}
		default:
			in = false
		}
	}
	return body, seen == 1
}
