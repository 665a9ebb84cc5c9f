package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// TestIntegrationDemo runs the whole demo (what `make demo` runs) with a PATH
// that holds nothing but ip: it must need nothing else from the machine (no
// ping), and every VIP line it prints must name a measured MAC and owner.
func TestIntegrationDemo(t *testing.T) {
	testutil.RequireRoot(t)
	ip := testutil.RequireCommand(t, "ip")
	goBin := testutil.RequireCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "demo")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build demo: %v\n%s", err, out)
	}
	path := t.TempDir()
	if err := os.Symlink(ip, filepath.Join(path, "ip")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = filepath.Join("..", "..") // the repository root, as make demo runs it
	cmd.Env = append(os.Environ(), "PATH="+path, "GO="+goBin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	reach := regexp.MustCompile(`reaches 192\.0\.2\.100 at MAC ([0-9a-f]{2}(:[0-9a-f]{2}){5}) = router ([abc])\n`)
	m := reach.FindAllSubmatch(out, -1)
	var owners string
	for _, x := range m {
		owners += string(x[3])
	}
	// a is elected, b takes over after a is killed, a preempts back.
	if owners != "aba" {
		t.Errorf("client resolved the VIP to routers %q, want \"aba\"; output:\n%s", owners, out)
	}
	if !regexp.MustCompile(`no namespace holds 192\.0\.2\.100 any more`).Match(out) {
		t.Errorf("no clean stop line; output:\n%s", out)
	}
}
