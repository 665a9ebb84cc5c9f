package testutil_test

import (
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestMain fails the package if a test leaves a goroutine running or a file
// descriptor open. Packages with long-lived objects copy this.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}
