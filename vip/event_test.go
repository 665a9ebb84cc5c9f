package vip

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLinkDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, cur map[int]linkState
		want     []Event
	}{
		{name: "nothing"},
		{name: "same", old: map[int]linkState{1: {"lo", true}}, cur: map[int]linkState{1: {"lo", true}}},
		{
			name: "initial",
			cur:  map[int]linkState{2: {"eth0", false}, 1: {"lo", true}},
			want: []Event{
				{Kind: LinkAdded, Interface: "lo", Index: 1, Up: true},
				{Kind: LinkAdded, Interface: "eth0", Index: 2},
			},
		},
		{
			name: "up, down, deleted, recreated",
			old:  map[int]linkState{1: {"lo", true}, 2: {"eth0", false}, 3: {"eth1", true}, 4: {"d0", true}},
			cur:  map[int]linkState{1: {"lo", true}, 2: {"eth0", true}, 3: {"eth1", false}, 7: {"d0", true}},
			want: []Event{
				{Kind: LinkDeleted, Interface: "d0", Index: 4},
				{Kind: LinkUp, Interface: "eth0", Index: 2, Up: true},
				{Kind: LinkDown, Interface: "eth1", Index: 3},
				{Kind: LinkAdded, Interface: "d0", Index: 7, Up: true},
			},
		},
		{name: "rename is no event", old: map[int]linkState{5: {"a", true}}, cur: map[int]linkState{5: {"b", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, linkDiff(tt.old, tt.cur), cmp.Comparer(func(x, y netip.Addr) bool { return x == y }), cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
				t.Errorf("linkDiff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventString(t *testing.T) {
	for _, tt := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: LinkAdded, Interface: "d0", Index: 3, Up: true}, "link-added d0 (index 3, up true)"},
		{Event{Kind: LinkDown, Interface: "d0", Index: 3}, "link-down d0 (index 3)"},
		{Event{Kind: Resynced}, "resynced"},
		{Event{Kind: EventKind(42)}, "EventKind(42)"},
	} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
	}
}
