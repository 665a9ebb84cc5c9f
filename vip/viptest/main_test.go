package viptest_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a Fake's watch leaves a goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
