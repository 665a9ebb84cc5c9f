package vip_test

import (
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestMain fails the run if a Manager leaves a goroutine or a file
// descriptor (netlink, nftables, packet socket) behind.
func TestMain(m *testing.M) {
	testutil.VerifyNoLeaks(m)
}
