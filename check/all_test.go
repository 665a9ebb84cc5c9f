package check

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAll(t *testing.T) {
	srv := httptest.NewServer(testMux())
	t.Cleanup(srv.Close)
	addr := addrPort(t, srv.Listener.Addr())
	root := &HTTP{Addr: addr, Path: "/", Digest: Digest([]byte("hello, world\n"))}
	broken := &HTTP{Addr: addr, Path: "/500"}
	if err := (All{root, &HTTP{Addr: addr, Path: "/proto"}}).Check(ctxTimeout(t, 5*time.Second)); err != nil {
		t.Fatalf("All of passing checks: %v", err)
	}
	err := (All{root, broken, root}).Check(ctxTimeout(t, 5*time.Second))
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 500 {
		t.Fatalf("All = %v, want the 500", err)
	}
	if (All{}).Check(context.Background()) != nil {
		t.Error("empty All failed")
	}

	same := All{root, &HTTP{Addr: addr, Path: "/", Digest: Digest([]byte("hello, world\n"))}}
	if (All{root, root}).CheckKey() != same.CheckKey() {
		t.Error("equal All, different keys")
	}
	if (All{root, broken}).CheckKey() == same.CheckKey() || (All{root}).CheckKey() == same.CheckKey() {
		t.Error("different All, equal keys")
	}
	if (All{root, CheckerFunc(nil)}).CheckKey() != nil {
		t.Error("All with an unkeyed member has a key")
	}
	if (All{root, All{CheckerFunc(nil)}}).CheckKey() != nil {
		t.Error("All with a nil-keyed member has a key")
	}
	if (make(All, 9)).CheckKey() != nil {
		t.Error("large All has a key")
	}
}

func TestValidate(t *testing.T) {
	good := TCP{Addr: netip.MustParseAddrPort("192.0.2.1:80")}
	tests := []struct {
		name string
		c    Checker
		want int // configuration errors
	}{
		{"valid", good, 0},
		{"invalid", TCP{}, 1},
		{"func", CheckerFunc(func(context.Context) error { return nil }), 0},
		{"nil", nil, 1},
		{"all valid", All{good, &UDP{Addr: good.Addr}}, 0},
		{"all with two invalid", All{good, &HTTP{Addr: good.Addr, Path: "x"}, File{}}, 2},
		{"nested", All{All{TCP{}}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.c)
			if (err != nil) != (tt.want > 0) || err != nil && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want %d errors wrapping ErrInvalidConfig", err, tt.want)
			}
			if err != nil {
				if n := len(strings.Split(err.Error(), "\n")); n != tt.want {
					t.Errorf("Validate = %v: %d errors, want %d", err, n, tt.want)
				}
			}
		})
	}
}
