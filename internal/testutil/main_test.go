package testutil_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine is still running when
// they end. Packages with long-lived objects copy this pattern.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
