package check

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zero, three, neg, junk := write("zero", "0\n"), write("three", "  3 apples"), write("neg", "-2"), write("junk", "abc")
	type res struct {
		Weight  int
		Dynamic bool
		Reason  Reason
	}
	tests := []struct {
		name string
		f    File
		want res
	}{
		{"zero up", File{Path: zero}, res{}},
		{"nonzero down", File{Path: three}, res{Reason: ReasonFile}},
		{"junk reads zero", File{Path: junk}, res{}},
		{"reverse zero down", File{Path: zero, Reverse: true}, res{Reason: ReasonFile}},
		{"reverse nonzero up", File{Path: three, Reverse: true}, res{}},
		{"weighted", File{Path: three, Weight: 10}, res{30, true, 0}},
		{"weighted negative", File{Path: neg, Weight: 10}, res{-20, true, 0}},
		{"weighted reverse", File{Path: three, Weight: 10, Reverse: true}, res{-30, true, 0}},
		{"weighted zero", File{Path: zero, Weight: 5}, res{0, true, 0}},
		{"missing", File{Path: filepath.Join(dir, "missing")}, res{Reason: ReasonFile}},
		{"directory", File{Path: dir}, res{Reason: ReasonFile}},
		{"empty path", File{}, res{Reason: ReasonConfig}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, dyn, err := tt.f.CheckWeight(context.Background())
			got := res{w, dyn, ReasonOf(err)}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CheckWeight (-want +got):\n%s (err %v)", diff, err)
			}
			if (tt.f.Check(context.Background()) == nil) != (tt.want.Reason == 0) {
				t.Error("Check disagrees with CheckWeight")
			}
		})
	}
	big := write("big", "99999999999")
	for _, tt := range []struct {
		f    File
		want int
	}{
		{File{Path: big, Weight: 1000}, math.MaxInt32},
		{File{Path: three, Weight: math.MaxInt}, math.MaxInt32},
		{File{Path: three, Weight: math.MaxInt, Reverse: true}, math.MinInt32},
		{File{Path: neg, Weight: math.MinInt}, math.MaxInt32},
	} {
		if w, _, _ := tt.f.CheckWeight(context.Background()); w != tt.want {
			t.Errorf("%+v: weight %d, want %d (clamped)", tt.f, w, tt.want)
		}
	}
}

func TestParseTrackValue(t *testing.T) {
	tests := map[string]int64{
		"": 0, "0": 0, "42": 42, " \t\n42x": 42, "+7": 7, "-7": -7, "--7": 0, "x1": 0,
		"99999999999": math.MaxInt32, "-99999999999": math.MinInt32, "2147483647": math.MaxInt32,
	}
	for in, want := range tests {
		if got := ParseTrackValue([]byte(in)); got != want {
			t.Errorf("ParseTrackValue(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzParseTrackValue(f *testing.F) {
	for _, s := range []string{"0", "  -12\n", "+99999999999999999999", "abc"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := ParseTrackValue(b)
		if v > math.MaxInt32 || v < math.MinInt32 {
			t.Fatalf("out of range: %d", v)
		}
	})
}
