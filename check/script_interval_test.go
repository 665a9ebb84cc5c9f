package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// A script checked every 300 ms (keepalived's vrrp_script interval 0.3) runs
// on that schedule, and its failure is reported 300 ms after its last
// success. In the bubble the clock stands still while the script runs (the
// goroutines waiting on it are not durably blocked), so the schedule is
// exact.
func TestMonitorSubSecondScript(t *testing.T) {
	dir := installScripts(t)
	runs := filepath.Join(t.TempDir(), "runs")
	counter := filepath.Join(dir, "count.sh")
	// Up for the first two runs, down afterwards.
	script := "#!/bin/sh\necho x >> \"$1\"\n[ \"$(wc -l < \"$1\")\" -le 2 ]\n"
	if err := os.WriteFile(counter, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		m := NewMonitor(MonitorConfig{})
		rec := &recorder{start: start}
		p := Policy{Interval: 300 * time.Millisecond, Timeout: 250 * time.Millisecond}
		if _, err := m.Add(Watch{Checker: &Script{Path: counter, Args: []string{runs}}, Policy: p, OnTransition: rec.on}); err != nil {
			t.Fatal(err)
		}
		stop := runMonitor(t, m)
		time.Sleep(1000 * time.Millisecond)
		synctest.Wait()
		stop()
		want := []string{"t=0s unknown->up initial", "t=600ms up->down fall"}
		if diff := cmp.Diff(want, rec.get()); diff != "" {
			t.Errorf("transitions (-want +got):\n%s", diff)
		}
		b, err := os.ReadFile(runs)
		if err != nil {
			t.Fatal(err)
		}
		// Runs at 0, 300, 600 and 900 ms.
		if n := strings.Count(string(b), "x"); n != 4 {
			t.Errorf("script ran %d times in 1 s at a 300 ms interval, want 4", n)
		}
	})
}
