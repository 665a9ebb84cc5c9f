package vrrptest

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestScenarios runs 10,000 seeded scenarios (KEEPALIVED_GO_SCENARIOS
// overrides the count; KEEPALIVED_GO_SCENARIO_SEED the first seed) on
// GOMAXPROCS workers, and reports the lowest failing seed with its trace.
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
	workers := runtime.GOMAXPROCS(0)
	var (
		mu      sync.Mutex
		total   ScenarioResult
		failed  error
		failIdx = n
		wg      sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			var sum ScenarioResult
			for i := w; i < n; i += workers {
				mu.Lock()
				stop := i > failIdx
				mu.Unlock()
				if stop {
					break
				}
				res, err := RunScenario(first + uint64(i))
				sum.add(res)
				if err != nil {
					mu.Lock()
					if i < failIdx {
						failIdx, failed = i, err
					}
					mu.Unlock()
					break
				}
			}
			mu.Lock()
			total.add(sum)
			mu.Unlock()
		})
	}
	wg.Wait()
	if failed != nil {
		t.Fatal(failed)
	}
	t.Logf("%d scenarios on %d workers, %d routers, %d steps, %d events, %d transitions, %v simulated, in %v",
		n, workers, total.Routers, total.Steps, total.Events, total.Transitions, total.Simulated, time.Since(start))
}

func TestRunScenariosSequential(t *testing.T) {
	run, total, err := RunScenarios(100000, 50)
	if err != nil || run != 50 || total.Events == 0 {
		t.Fatalf("run %d, %+v, %v", run, total, err)
	}
}
