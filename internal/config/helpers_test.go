package config

import "net/netip"

var netipTypes = []any{netip.Addr{}, netip.Prefix{}}
