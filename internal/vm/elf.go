package vm

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strings"
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

// UsesMain reports whether the test binary at path calls Main or MainFunc
// (and so can be the VM's init). go test strips the binaries it runs, so
// this looks for a string that only the guest code references and the
// linker keeps only when that code is reachable.
func UsesMain(path string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("vm: test binary: %w", err)
	}
	// Built at run time so that this function does not itself link the
	// sentinel into every binary that imports the package.
	needle := strings.Join([]string{"keepalived-go", "vm", "guest", "init", "v1"}, "-")
	return bytes.Contains(data, []byte(needle)), nil
}
