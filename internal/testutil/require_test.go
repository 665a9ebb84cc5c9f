package testutil_test

import (
	"fmt"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// fakeTB records Fatalf/Skipf instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	fatal, skip string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.skip = fmt.Sprintf(format, args...) }

func TestRequireAll(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want bool
	}{
		{"", false},
		{"0", false},
		{"false", false},
		{"junk", false},
		{"1", true},
		{"true", true},
	} {
		t.Run(fmt.Sprintf("%q", tc.env), func(t *testing.T) {
			t.Setenv(testutil.RequireAllEnv, tc.env)
			if got := testutil.RequireAll(); got != tc.want {
				t.Errorf("RequireAll() with %s=%q = %v, want %v", testutil.RequireAllEnv, tc.env, got, tc.want)
			}
		})
	}
}

func TestSkip(t *testing.T) {
	for _, tc := range []struct {
		env         string
		fatal, skip bool
	}{
		{env: "", skip: true},
		{env: "1", fatal: true},
	} {
		t.Run(fmt.Sprintf("%q", tc.env), func(t *testing.T) {
			t.Setenv(testutil.RequireAllEnv, tc.env)
			f := &fakeTB{}
			testutil.Skip(f, "need %s", "thing")
			if (f.fatal != "") != tc.fatal || (f.skip != "") != tc.skip {
				t.Fatalf("Skip: fatal=%q skip=%q, want fatal=%v skip=%v", f.fatal, f.skip, tc.fatal, tc.skip)
			}
			msg := f.fatal + f.skip
			if want := "need thing"; len(msg) < len(want) || msg[len(msg)-len(want):] != want {
				t.Errorf("message %q does not end with %q", msg, want)
			}
		})
	}
}

func TestRequireCommand(t *testing.T) {
	t.Setenv(testutil.RequireAllEnv, "")
	f := &fakeTB{}
	if p := testutil.RequireCommand(f, "go"); p == "" || f.skip != "" {
		t.Errorf("RequireCommand(go) = %q, skip %q; want a path", p, f.skip)
	}
	f = &fakeTB{}
	if p := testutil.RequireCommand(f, "kgo-no-such-command"); p != "" || f.skip == "" {
		t.Errorf("RequireCommand(missing) = %q, skip %q; want a skip", p, f.skip)
	}
}
