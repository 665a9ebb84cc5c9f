package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// twoVIPsConf has two instances, each with a VIP; NOTIFY_FIFO is replaced
// by the interop helpers.
const twoVIPsConf = `global_defs {
    notify_fifo NOTIFY_FIFO
    vrrp_garp_master_delay 1
}
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 51
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
vrrp_instance VI_2 {
    state BACKUP
    interface eth0
    version 3
    virtual_router_id 52
    priority %d
    advert_int 1
    virtual_ipaddress {
        192.0.2.101/24
    }
}
`

// cutAfterPriority returns conf cut after the first priority line (what an
// editor crash while saving VI_1 leaves behind).
func cutAfterPriority(conf string) string {
	i := strings.Index(conf, "    priority ")
	j := strings.IndexByte(conf[i:], '\n')
	return conf[:i+j+1]
}

// TestDamagedFileRefused: keepalived -t and a start on a file cut inside
// VI_1 both fail with exit status 1 and report the unclosed block with its
// file:line:col; the failed start writes no pid file.
func TestDamagedFileRefused(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "keepalived.conf")
	cut := cutAfterPriority(strings.NewReplacer("%d", "150", "NOTIFY_FIFO", filepath.Join(dir, "fifo")).Replace(twoVIPsConf))
	if err := os.WriteFile(conf, []byte(cut), 0o644); err != nil {
		t.Fatal(err)
	}
	// the position of VI_1's keyword, and the problem, on one line
	reports := func(out string) bool {
		for l := range strings.SplitSeq(out, "\n") {
			if strings.Contains(l, conf+":5:1: ") && strings.Contains(l, "is not closed") {
				return true
			}
		}
		return false
	}
	pid := filepath.Join(dir, "keepalived.pid")
	tests := []struct {
		name string
		args []string
		out  func(stdout, stderr string) string // where the report goes
	}{
		{"config test", []string{"-t", "-f", conf}, func(o, _ string) string { return o }},
		{"start", []string{"-n", "-l", "-f", conf, "-p", pid, "--dump-dir", dir}, func(_, e string) string { return e }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 1 {
				t.Errorf("exit status %d, want 1\nstdout:\n%s\nstderr:\n%s", code, &stdout, &stderr)
			}
			if got := tt.out(stdout.String(), stderr.String()); !reports(got) {
				t.Errorf("output does not report the unclosed block at %s:5:1:\n%s", conf, got)
			}
			if strings.Contains(stdout.String(), "configuration OK") {
				t.Error("damaged file reported as OK")
			}
			if _, err := os.Stat(pid); !os.IsNotExist(err) {
				t.Errorf("pid file after a refused start: %v", err)
			}
		})
	}
}
