// Command fuzzrun runs every FuzzXxx target in the module (the fuzz tier of
// `make test`) and fails on every real finding, never by chance.
//
//	go run ./internal/cmd/fuzzrun [-budgets FILE] [-default N] [-dirs REGEXP] [-scale F]
//
// Each target is fuzzed for a number of executions (`-fuzztime Nx`), not for
// a duration: a duration budget makes Go 1.26's fuzzing coordinator fail at
// the deadline with a bare "context deadline exceeded" and no failing input
// when the machine is loaded (golang/go#75804, fixed in Go 1.27); a count
// has no deadline, and a loaded machine only takes longer. The counts are
// in the budgets file, one target per line:
//
//	./check FuzzSMTPReply 60000
//
// sized so that each target explores for a few seconds on the 2-core CI
// machine. A target missing from the file gets -default executions; a line
// naming a target that does not exist is an error (the file cannot go
// stale). -scale multiplies every count (0.1 for a quick local run, 10 for
// a long one).
//
// Should the race still show (it needs a wall-clock deadline, so it should
// not), a run whose only failure is that bare message and that wrote no
// failing input is retried once; a second such run fails. Everything else
// that fails — a failing input written, a panic, t.Fatal, a build error, a
// timeout — fails the tier at once. See classify.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func main() {
	budgets := flag.String("budgets", "scripts/fuzz-budgets", "file of `dir target executions` lines")
	def := flag.Int("default", 20000, "executions for a target not in the budgets file")
	dirs := flag.String("dirs", ".", "only package directories matching this regexp")
	scale := flag.Float64("scale", 1, "multiply every execution count")
	timeout := flag.Duration("timeout", 10*time.Minute, "go test -timeout for one target (a hang, not a budget)")
	flag.Parse()
	if err := run(os.Stdout, *budgets, *def, *dirs, *scale, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "fuzzrun:", err)
		os.Exit(1)
	}
}

// target is one fuzz function in one package directory.
type target struct {
	Dir  string // "./vrrp"
	Name string // "FuzzDecode"
}

func (t target) String() string { return t.Dir + " " + t.Name }

func run(w io.Writer, budgetFile string, def int, dirFilter string, scale float64, timeout time.Duration) error {
	filter, err := regexp.Compile(dirFilter)
	if err != nil {
		return fmt.Errorf("-dirs: %w", err)
	}
	targets, err := discover(".")
	if err != nil {
		return err
	}
	budgets, err := readBudgets(budgetFile)
	if err != nil {
		return err
	}
	for t := range budgets {
		if !slices.Contains(targets, t) {
			return fmt.Errorf("%s: %s: no such fuzz target", budgetFile, t)
		}
	}
	var failed []string
	n := 0
	start := time.Now()
	for _, t := range targets {
		if !filter.MatchString(t.Dir) {
			continue
		}
		n++
		execs, ok := budgets[t]
		if !ok {
			execs = def
		}
		execs = max(1, int(math.Round(float64(execs)*scale)))
		outcome, err := fuzzTarget(w, t, func() (Run, error) { return fuzzOnce(w, t, execs, timeout) })
		if err != nil {
			return err
		}
		if outcome != Pass {
			failed = append(failed, t.String())
		}
	}
	fmt.Fprintf(w, "fuzz: %d targets, %d failed, %s\n", n, len(failed), time.Since(start).Round(time.Second))
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

// fuzzTarget fuzzes one target with once, retrying once if the first run
// is a Flake.
func fuzzTarget(w io.Writer, t target, once func() (Run, error)) (Outcome, error) {
	for attempt := 1; ; attempt++ {
		r, err := once()
		if err != nil {
			return 0, err
		}
		o := classify(r)
		switch {
		case o == Flake && attempt == 1:
			fmt.Fprintf(w, "fuzz: %s: bare \"context deadline exceeded\" and no failing input (golang/go#75804); retrying once\n", t)
			continue
		case o == Flake:
			fmt.Fprintf(w, "fuzz: %s: the coordinator race twice in a row: counted as a failure\n", t)
			return Finding, nil
		case o == Finding:
			fmt.Fprintf(w, "fuzz: %s: FAILED\n", t)
		}
		return o, nil
	}
}

// fuzzOnce runs go test once for t, streaming its output to w, and reports
// which inputs it wrote under testdata/fuzz/<Name>.
func fuzzOnce(w io.Writer, t target, execs int, timeout time.Duration) (Run, error) {
	fmt.Fprintf(w, "== fuzz %s (%dx)\n", t, execs)
	corpus := filepath.Join(t.Dir, "testdata", "fuzz", t.Name)
	before, err := listFiles(corpus)
	if err != nil {
		return Run{}, err
	}
	var out bytes.Buffer
	cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+t.Name+"$",
		"-fuzztime", strconv.Itoa(execs)+"x", "-timeout", timeout.String(), t.Dir)
	cmd.Stdout = io.MultiWriter(w, &out)
	cmd.Stderr = cmd.Stdout
	r := Run{Target: t.Name}
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return Run{}, fmt.Errorf("%s: %w", t, err)
		}
		r.ExitCode = ee.ExitCode()
	}
	r.Output = out.String()
	after, err := listFiles(corpus)
	if err != nil {
		return Run{}, err
	}
	for _, f := range after {
		if !slices.Contains(before, f) {
			r.NewInputs = append(r.NewInputs, f)
		}
	}
	return r, nil
}

// listFiles lists the regular files in dir (none if it does not exist).
func listFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz[A-Za-z0-9_]*)\(`)

// discover finds every fuzz target in the *_test.go files under root,
// skipping testdata, hidden directories (.cache, .bin, .git) and bin/.
// Targets are sorted by directory, then by name.
func discover(root string) ([]target, error) {
	var targets []target
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dir := "./" + filepath.ToSlash(filepath.Dir(path))
		if dir == "./." {
			dir = "."
		}
		for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
			targets = append(targets, target{Dir: dir, Name: string(m[1])})
		}
		return nil
	})
	slices.SortFunc(targets, func(a, b target) int {
		return strings.Compare(a.Dir+"\x00"+a.Name, b.Dir+"\x00"+b.Name)
	})
	return targets, err
}

// readBudgets reads `dir target executions` lines; blank lines and lines
// starting with # are ignored.
func readBudgets(path string) (map[target]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseBudgets(path, f)
}

func parseBudgets(name string, r io.Reader) (map[target]int, error) {
	budgets := make(map[target]int)
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want `dir target executions`, got %q", name, line, text)
		}
		n, err := strconv.Atoi(f[2])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s:%d: executions %q: want a positive integer", name, line, f[2])
		}
		t := target{Dir: f[0], Name: f[1]}
		if _, dup := budgets[t]; dup {
			return nil, fmt.Errorf("%s:%d: %s listed twice", name, line, t)
		}
		budgets[t] = n
	}
	return budgets, sc.Err()
}
