package check

import (
	"context"
	"errors"
	"net/http/httptest"
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
