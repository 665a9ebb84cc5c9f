package main

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPruneInstall(t *testing.T) {
	errFail := errors.New("fail")
	tests := []struct {
		name       string
		installed  []string
		want       []string
		failAdd    string
		wantRemove []string
		wantAdd    []string
		wantAfter  []string
	}{
		{name: "empty"},
		{name: "fresh", want: []string{"b", "a"}, wantAdd: []string{"b", "a"}, wantAfter: []string{"a", "b"}},
		{name: "unchanged", installed: []string{"a", "b"}, want: []string{"a", "b"}, wantAfter: []string{"a", "b"}},
		{name: "swap", installed: []string{"a", "b"}, want: []string{"b", "c"},
			wantRemove: []string{"a"}, wantAdd: []string{"c"}, wantAfter: []string{"b", "c"}},
		{name: "failed add not recorded", want: []string{"a", "b"}, failAdd: "a",
			wantAdd: []string{"a", "b"}, wantAfter: []string{"b"}},
		{name: "duplicate wanted once", want: []string{"a", "a"}, wantAdd: []string{"a"}, wantAfter: []string{"a"}},
		{name: "all removed", installed: []string{"a", "b"}, wantRemove: []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := map[string]bool{}
			for _, x := range tt.installed {
				inst[x] = true
			}
			var removed, added []string
			prune(inst, tt.want, func(x string) { removed = append(removed, x) })
			install(inst, tt.want, func(x string) error {
				added = append(added, x)
				if x == tt.failAdd {
					return errFail
				}
				return nil
			})
			slices.Sort(removed)
			var after []string
			for x := range inst {
				after = append(after, x)
			}
			slices.Sort(after)
			if d := cmp.Diff(tt.wantRemove, removed); d != "" {
				t.Errorf("removed (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantAdd, added); d != "" {
				t.Errorf("added in order (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.wantAfter, after); d != "" {
				t.Errorf("installed (-want +got):\n%s", d)
			}
		})
	}
}
