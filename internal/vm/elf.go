package vm

import (
	"debug/elf"
	"errors"
	"fmt"
)

// ErrNotStatic is returned by CheckStatic for a dynamically linked binary.
var ErrNotStatic = errors.New("vm: test binary is dynamically linked; build it with CGO_ENABLED=0 (and without -race)")

// CheckStatic returns nil if path is a statically linked x86-64 ELF
// executable, the only kind that can be the VM's init (the guest has no C
// library for it). Go test binaries are static when built with
// CGO_ENABLED=0; -race needs cgo and so cannot be used.
func CheckStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("vm: test binary: %w", err)
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 {
		return fmt.Errorf("vm: test binary %s is for %s, not x86-64", path, f.Machine)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: %s", ErrNotStatic, path)
		}
	}
	return nil
}
