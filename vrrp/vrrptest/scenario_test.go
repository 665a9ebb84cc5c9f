package vrrptest

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// TestScenarios runs 10,000 seeded scenarios (KEEPALIVED_GO_SCENARIOS
// overrides the count; KEEPALIVED_GO_SCENARIO_SEED the first seed).
func TestScenarios(t *testing.T) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("KEEPALIVED_GO_SCENARIOS")); err == nil && v > 0 {
		n = v
	}
	var first uint64 = 1
	if v, err := strconv.ParseUint(os.Getenv("KEEPALIVED_GO_SCENARIO_SEED"), 10, 64); err == nil {
		first = v
	}
	start := time.Now()
	run, total, err := RunScenarios(first, n)
	if err != nil {
		t.Fatalf("after %d scenarios: %v", run, err)
	}
	t.Logf("%d scenarios, %d routers, %d steps, %d events, %d transitions, %v simulated, in %v",
		run, total.Routers, total.Steps, total.Events, total.Transitions, total.Simulated, time.Since(start))
}
