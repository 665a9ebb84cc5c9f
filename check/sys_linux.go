package check

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// bindToDevice sets SO_BINDTODEVICE on fd.
func bindToDevice(fd uintptr, iface string) error {
	if err := unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, iface); err != nil {
		return fmt.Errorf("bind to device %q: %w", iface, err)
	}
	return nil
}
