package vip_test

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/vip"
)

// checkPrefix fails unless every line of err starts with "vip: " and has
// it once.
func checkPrefix(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "vip: ") || strings.Count(line, "vip: ") != 1 {
			t.Errorf("error line %q does not start with \"vip: \" exactly once", line)
		}
	}
}

func TestErrorConventions(t *testing.T) {
	if vip.ErrClosed != net.ErrClosed {
		t.Error("ErrClosed is not net.ErrClosed")
	}
	if !errors.Is(vip.ErrNotSupported, errors.ErrUnsupported) {
		t.Error("ErrNotSupported does not wrap errors.ErrUnsupported")
	}
	checkPrefix(t, vip.ErrNotSupported)
	checkPrefix(t, vip.Set{
		Addresses: []vip.Address{{}, {Prefix: netip.MustParsePrefix("192.0.2.1/24"), Interface: "eth0", Label: "x"}},
		Routes:    []vip.Route{{}},
		Rules:     []vip.Rule{{}},
	}.Validate())
}
