package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// The fixtures are real go test outputs (Go 1.26.8) of the three outcomes,
// except flake-deadline.txt, which is the output reported in issue 11 for
// the coordinator race (it cannot be produced on demand) and
// finding-deadline-and-fatal.txt, the same with a t.Errorf line added.
func TestClassifyFixtures(t *testing.T) {
	tests := []struct {
		file   string
		target string
		exit   int
		inputs []string
		want   Outcome
	}{
		{"pass.txt", "FuzzOK", 0, nil, Pass},
		{"finding-fatal.txt", "FuzzBoom", 1, []string{"1a4feb8ad1fe53b6"}, Finding},
		// The input file is what matters, but the message alone is enough.
		{"finding-fatal.txt", "FuzzBoom", 1, nil, Finding},
		{"finding-panic.txt", "FuzzPanic", 1, []string{"8afbdad7b60f8fad"}, Finding},
		{"finding-seed.txt", "FuzzSeed", 1, nil, Finding},
		{"finding-build.txt", "FuzzSMTPReply", 1, nil, Finding},
		{"finding-deadline-and-fatal.txt", "FuzzSMTPReply", 1, nil, Finding},
		{"flake-deadline.txt", "FuzzSMTPReply", 1, nil, Flake},
		// The race's message, but an input was written: a finding.
		{"flake-deadline.txt", "FuzzSMTPReply", 1, []string{"0123456789abcdef"}, Finding},
		// The race's message under another target's name: not proven harmless.
		{"flake-deadline.txt", "FuzzOther", 1, nil, Finding},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.target, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r := Run{Target: tt.target, ExitCode: tt.exit, Output: string(out), NewInputs: tt.inputs}
			if got := classify(r); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestClassifyEdges(t *testing.T) {
	bare := "--- FAIL: FuzzX (5.00s)\n    context deadline exceeded\nFAIL\n"
	tests := []struct {
		name string
		r    Run
		want Outcome
	}{
		{"exit 0 wins", Run{Target: "FuzzX", ExitCode: 0, Output: bare}, Pass},
		{"bare race", Run{Target: "FuzzX", ExitCode: 1, Output: bare}, Flake},
		{"failed twice", Run{Target: "FuzzX", ExitCode: 1, Output: bare + bare}, Finding},
		{"no FAIL line", Run{Target: "FuzzX", ExitCode: 1, Output: "signal: killed\n"}, Finding},
		{"timeout", Run{Target: "FuzzX", ExitCode: 1, Output: "panic: test timed out after 10m0s\n" + bare}, Finding},
		{"empty body", Run{Target: "FuzzX", ExitCode: 1, Output: "--- FAIL: FuzzX (5.00s)\nFAIL\n"}, Finding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.r); got != tt.want {
				t.Errorf("classify = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFuzzTargetRetry(t *testing.T) {
	flake := Run{Target: "FuzzX", ExitCode: 1, Output: "--- FAIL: FuzzX (5.00s)\n    context deadline exceeded\nFAIL\n"}
	pass := Run{Target: "FuzzX"}
	finding := Run{Target: "FuzzX", ExitCode: 1, NewInputs: []string{"abc"}}
	tests := []struct {
		name  string
		runs  []Run
		want  Outcome
		calls int
	}{
		{"pass", []Run{pass}, Pass, 1},
		{"finding is never retried", []Run{finding, pass}, Finding, 1},
		{"flake then pass", []Run{flake, pass}, Pass, 2},
		{"flake then finding", []Run{flake, finding}, Finding, 2},
		{"flake twice fails", []Run{flake, flake, pass}, Finding, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			got, err := fuzzTarget(io.Discard, target{"./x", "FuzzX"}, func() (Run, error) {
				calls++
				return tt.runs[calls-1], nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want || calls != tt.calls {
				t.Errorf("got %v after %d runs, want %v after %d", got, calls, tt.want, tt.calls)
			}
		})
	}
	t.Run("error", func(t *testing.T) {
		boom := errors.New("boom")
		if _, err := fuzzTarget(io.Discard, target{"./x", "FuzzX"}, func() (Run, error) { return Run{}, boom }); !errors.Is(err, boom) {
			t.Errorf("err = %v, want boom", err)
		}
	})
}

func TestParseBudgets(t *testing.T) {
	got, err := parseBudgets("b", strings.NewReader("# comment\n\n./vrrp FuzzDecode 1000\n./check  FuzzSMTPReply\t50\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[target]int{{"./vrrp", "FuzzDecode"}: 1000, {"./check", "FuzzSMTPReply"}: 50}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("budgets (-want +got):\n%s", d)
	}
	for _, bad := range []string{"./vrrp FuzzDecode", "./vrrp FuzzDecode 0", "./vrrp FuzzDecode x", "./a F 1\n./a F 2"} {
		if _, err := parseBudgets("b", strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "b:") {
			t.Errorf("parseBudgets(%q) = %v, want a b:line: error", bad, err)
		}
	}
}

// TestBudgetsFile checks the module's own budgets file: every line names a
// real target (run refuses a stale file).
func TestBudgetsFile(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	budgets, err := readBudgets(filepath.Join(root, "scripts", "fuzz-budgets"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	targets, err := discover(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) < 20 {
		t.Fatalf("found %d fuzz targets in the module, want the whole tree", len(targets))
	}
	have := make(map[target]bool)
	for _, tg := range targets {
		have[tg] = true
	}
	for tg := range budgets {
		if !have[tg] {
			t.Errorf("scripts/fuzz-budgets: %s: no such target", tg)
		}
	}
	for _, tg := range targets {
		if _, ok := budgets[tg]; !ok {
			t.Errorf("scripts/fuzz-budgets: %s has no budget (add a line sized for ~5 s on the CI machine)", tg)
		}
	}
}

// TestFuzzOnceEndToEnd fuzzes two tiny targets in a scratch module with the
// real go command: one passes, one writes a failing input.
func TestFuzzOnceEndToEnd(t *testing.T) {
	testutil.RequireCommand(t, "go")
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module scratch\n\ngo 1.26\n",
		"f_test.go": `package scratch

import "testing"

FUNC FuzzOK(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) { _ = len(b) })
}

FUNC FuzzBoom(f *testing.F) {
	f.Add([]byte("a"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 3 && b[0] == 'x' {
			t.Fatalf("boom %q", b)
		}
	})
}
`,
	}
	for name, text := range files {
		// FUNC, not func: discover must not find these in this file.
		text = strings.ReplaceAll(text, "FUNC ", "func ")
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	targets, err := discover(".")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]target{{".", "FuzzBoom"}, {".", "FuzzOK"}}, targets); d != "" {
		t.Fatalf("discover (-want +got):\n%s", d)
	}
	ok, err := fuzzOnce(io.Discard, target{".", "FuzzOK"}, 2000, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if classify(ok) != Pass {
		t.Errorf("FuzzOK: %v, output:\n%s", classify(ok), ok.Output)
	}
	boom, err := fuzzOnce(io.Discard, target{".", "FuzzBoom"}, 2_000_000, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if classify(boom) != Finding || len(boom.NewInputs) != 1 {
		t.Errorf("FuzzBoom: %v with new inputs %v, want a finding with one input; output:\n%s",
			classify(boom), boom.NewInputs, boom.Output)
	}
}
