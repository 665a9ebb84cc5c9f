//go:build !linux

package vm

// guestMain only runs the tests: the guest is Linux, so this is not reached
// in practice.
func guestMain(run func() int) int { return run() }
