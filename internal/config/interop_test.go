package config

import (
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// hostDependent matches keepalived -t messages that depend on the host
// (interfaces, users) rather than on the configuration text.
var hostDependent = regexp.MustCompile(`doesn't exist|Non-existent interface|SECURITY VIOLATION|loopback interface|Unknown interface|scripts are being executed`)

var lineRE = regexp.MustCompile(`\((?:[^()]*: )?Line (\d+)\)`)

// keepalivedWarningLines runs keepalived's own configuration test and
// returns the lines it reports problems on.
func keepalivedWarningLines(t *testing.T, bin, file, id string) []int {
	t.Helper()
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-t", "-l", "-n", "-i", id, "-f", abs).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("keepalived -t %s: %v\n%s", file, ctx.Err(), out)
	}
	_ = err // keepalived -t exits non-zero on some warnings; the output is what matters
	var lines []int
	for l := range strings.SplitSeq(string(out), "\n") {
		if hostDependent.MatchString(l) {
			continue
		}
		if m := lineRE.FindStringSubmatch(l); m != nil {
			n, _ := strconv.Atoi(m[1])
			if !slices.Contains(lines, n) {
				lines = append(lines, n)
			}
		}
	}
	slices.Sort(lines)
	return lines
}

// TestInteropKeepalivedConfigTest checks that wherever keepalived's own
// configuration test (keepalived -t) reports a problem, this package warns
// on the same line too.
func TestInteropKeepalivedConfigTest(t *testing.T) {
	bin := testutil.RequireCommand(t, "keepalived")
	files := sampleFiles(t)
	files = append(files, "testdata/conditional.conf", "testdata/sequence.conf", "testdata/unicast_v3.conf")
	// lines where keepalived 2.2.7 differs on purpose (see the package doc)
	except := map[string][]int{
		"etc/keepalived.conf": {15, 16}, // vrrp_garp_interval 0 / vrrp_gna_interval 0
	}
	for _, f := range files {
		key := sampleKey(f)
		if strings.HasPrefix(f, "testdata/") {
			key = f
		}
		t.Run(key, func(t *testing.T) {
			want := keepalivedWarningLines(t, bin, f, "main")
			if key == "keepalived.conf.vrrp.rules" && !slices.Equal(want, []int{10, 11, 25, 26}) {
				t.Fatalf("keepalived -t output not understood: lines %v, want [10 11 25 26]", want)
			}
			_, warns, err := ParseFile(f, Options{ConfigID: "main"})
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, w := range warns {
				got = append(got, w.Pos.Line)
			}
			for _, l := range want {
				if !slices.Contains(got, l) && !slices.Contains(except[key], l) {
					t.Errorf("keepalived reports line %d, we do not (our warnings: %v)", l, warns)
				}
			}
		})
	}
}
