package config

import (
	"net/netip"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpOpts compares configurations ignoring positions.
var cmpOpts = []cmp.Option{
	cmpopts.IgnoreTypes(Pos{}),
	cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}),
	cmpopts.EquateEmpty(),
}
