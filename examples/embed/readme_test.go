package main

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The README's embedding snippet is this program, byte for byte, so that
// the snippet compiles (go build ./..., go vet) and cannot drift.
func TestREADMEIsMain(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	const heading = "\n## Embed failover in your daemon\n"
	_, section, ok := strings.Cut(string(readme), heading)
	if !ok {
		t.Fatalf("README.md has no %q section", strings.TrimSpace(heading))
	}
	_, block, ok := strings.Cut(section, "\n```go\n")
	if !ok {
		t.Fatal("README.md embedding section has no ```go block")
	}
	block, _, ok = strings.Cut(block, "\n```\n")
	if !ok {
		t.Fatal("README.md embedding block is not closed")
	}
	if diff := cmp.Diff(string(src), block+"\n"); diff != "" {
		t.Errorf("README.md embedding block differs from examples/embed/main.go (-main.go +README):\n%s", diff)
	}
}
