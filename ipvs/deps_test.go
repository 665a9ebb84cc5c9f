package ipvs_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

// Importing ipvs (or its fake) must not pull in moby/ipvs or logrus: the
// moby adapter lives in ipvs/ipvsmoby. The check is for Linux, the only
// OS where moby/ipvs builds at all, whatever the host.
func TestDepsNoMoby(t *testing.T) {
	goBin := testutil.RequireCommand(t, "go")
	cmd := exec.Command(goBin, "list", "-deps", "-f", "{{.ImportPath}}", ".", "./ipvstest")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOFLAGS=-mod=readonly")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !strings.Contains(string(out), "github.com/nux-root/keepalived-go/ipvs\n") {
		t.Fatalf("go list -deps printed no plausible list:\n%s", out)
	}
	for _, d := range deps {
		for _, banned := range []string{"github.com/moby/ipvs", "github.com/sirupsen/logrus"} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("ipvs or ipvstest depends on %s", d)
			}
		}
	}
}
