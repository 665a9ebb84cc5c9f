package vm

import (
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func guestLoadOrder(t *testing.T) string {
	t.Helper()
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	return filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]), loadOrderName)
}
