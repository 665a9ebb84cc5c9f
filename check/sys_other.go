//go:build !linux

package check

// bindToDevice is not supported outside Linux.
func bindToDevice(fd uintptr, iface string) error { return ErrNotSupported }
