//go:build !linux

package testutil

import "github.com/vishvananda/netlink"

// linkNotReady always says why: namespaces and veth links are Linux-only.
func linkNotReady(*netlink.Handle, string, bool) string { return "not supported on this OS" }
