package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestInstanceTracks: an instance's tracked objects are its own lines
// united once with its sync group's, each object once, its interface
// unless dont_track_primary, weighted track_files by priority.
func TestInstanceTracks(t *testing.T) {
	c := parse(t, `
vrrp_script s1 {
    script /bin/true
    weight -10
}
vrrp_script s2 {
    script /bin/true
}
track_file f1 {
    file /tmp/kgo-f1
    weight 0
}
track_file f2 {
    file /tmp/kgo-f2
    weight 5
}
track_process p1 {
    process sleep
}
vrrp_sync_group G {
    group {
        A
        B
    }
    track_script {
        s1
        s2 weight 7
    }
    track_interface {
        eth2
    }
}
vrrp_instance A {
    interface eth0
    virtual_router_id 1
    track_script {
        s1 weight -20
    }
    track_file {
        f1
        f2
    }
    track_process {
        p1
    }
}
vrrp_instance B {
    interface eth1
    virtual_router_id 2
    dont_track_primary
}
`)
	type ref struct {
		Key        string
		Weight     int
		Reverse    bool
		ByPriority bool
	}
	refs := func(name string) []ref {
		in, _ := c.Instance(name)
		var out []ref
		for _, r := range instanceTracks(c, in) {
			out = append(out, ref{r.key.String(), r.weight, r.reverse, r.byPriority})
		}
		return out
	}
	wantA := []ref{{"script:s1", -20, false, false}, {"script:s2", 7, false, false}, {"file:f1", 0, false, false},
		{"file:f2", 5, false, true}, {"process:p1", 0, false, false}, {"iface:eth0", 0, false, false}, {"iface:eth2", 0, false, false}}
	if diff := cmp.Diff(wantA, refs("A")); diff != "" {
		t.Errorf("A (-want +got):\n%s", diff)
	}
	wantB := []ref{{"script:s1", -10, false, false}, {"script:s2", 7, false, false}, {"iface:eth2", 0, false, false}}
	if diff := cmp.Diff(wantB, refs("B")); diff != "" {
		t.Errorf("B (-want +got):\n%s", diff)
	}
	in, _ := c.Instance("A")
	var names []string
	for _, o := range trackedObjects(c, in) {
		names = append(names, o.Name)
	}
	if diff := cmp.Diff([]string{"script:s1", "script:s2", "file:f1", "process:p1", "iface:eth0", "iface:eth2"}, names); diff != "" {
		t.Errorf("vrrp tracked objects of A (-want +got):\n%s", diff)
	}
	f1 := trackRef{key: trackKey{trackFile, "f1"}, weight: 3}
	if f1.source() == (trackRef{key: trackKey{trackFile, "f1"}}).source() {
		t.Error("a track_file with another weight shares the source")
	}
	s := trackRef{key: trackKey{trackScript, "s"}, weight: 3}
	if s.source() != (trackRef{key: trackKey{trackScript, "s"}, weight: -1}).source() {
		t.Error("a vrrp_script tracked with two weights has two sources")
	}
}

func TestEffectiveBase(t *testing.T) {
	tests := []struct {
		configured int
		offsets    map[string]int
		want       int
	}{
		{100, nil, 100},
		{100, map[string]int{"a": 20, "b": -5}, 115},
		{250, map[string]int{"a": 20}, 254},
		{10, map[string]int{"a": -50}, 1},
		{255, map[string]int{"a": -50}, 255},
	}
	for _, tt := range tests {
		if got := effectiveBase(tt.configured, tt.offsets); got != tt.want {
			t.Errorf("effectiveBase(%d, %v) = %d, want %d", tt.configured, tt.offsets, got, tt.want)
		}
	}
}
