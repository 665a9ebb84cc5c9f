package vm

import "syscall"

// sysProcAttr makes the kernel kill qemu if the process that started it
// dies, so an interrupted test run leaves no emulator behind.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
