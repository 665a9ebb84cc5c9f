package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/nux-root/keepalived-go/internal/config"
)

// FuzzTranslate: whatever the parser accepts, the translation to the
// packages' configurations and the reload plan never panic.
func FuzzTranslate(f *testing.F) {
	f.Add([]byte(baseConf))
	f.Add([]byte(diffBase))
	f.Add([]byte(lvsConf))
	files, _ := filepath.Glob("../../../shared/keepalived-samples/keepalived.conf.*")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		c, _, err := config.Parse("fuzz.conf", src, config.Options{ConfigID: "fuzz", FS: emptyFS{}})
		if err != nil || c == nil {
			return
		}
		_ = daemonProblems(c, "fuzz.conf")
		for i := range c.Instances {
			in := &c.Instances[i]
			if vc, err := vrrpConfig(c, in); err == nil {
				_ = vc.Validate()
			}
			_ = announcePolicy(&c.Global, in)
			_ = trackedObjects(c, in)
			_ = instanceConnKey(in)
		}
		for i := range c.VirtualServers {
			_, _ = buildVS(c, &c.VirtualServers[i], nil)
		}
		empty := &config.Config{}
		_ = expandGroups(empty, c, diffInstances(empty, c))
		_ = expandGroups(c, c, diffInstances(c, c))
		_ = expandGroups(c, empty, diffInstances(c, empty))
	})
}

// emptyFS has no files: fuzzed includes read nothing from the host.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}
