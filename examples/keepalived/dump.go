package main

// This file owns the state dumps: the SIGUSR1 text dump (keepalived.data)
// and the SIGUSR2 JSON dump, from a snapshot the daemon's loop takes.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
)

// instanceDump is the state of one instance in a dump.
type instanceDump struct {
	Name           string     `json:"name"`
	VRID           int        `json:"vrid"`
	Interface      string     `json:"interface"`
	State          string     `json:"state"`
	Since          time.Time  `json:"since"`
	Priority       int        `json:"priority"`
	BasePriority   int        `json:"base_priority"`
	AdvertInterval string     `json:"advert_int"`
	Version        int        `json:"version"`
	Source         string     `json:"source"`
	VIPs           []string   `json:"virtual_ipaddress"`
	Installed      []string   `json:"installed"`
	Stats          vrrp.Stats `json:"stats"`
}

// stateDump is the whole dump.
type stateDump struct {
	Time      time.Time      `json:"time"`
	Started   time.Time      `json:"started"`
	Config    string         `json:"config"`
	Instances []instanceDump `json:"instances"`
	LVS       []string       `json:"lvs,omitempty"`
}

// snapshot is the daemon's state. On the loop.
func (d *daemon) snapshot() stateDump {
	s := stateDump{Time: d.sys.clock.Now(), Started: d.start, Config: d.opt.ConfigFile}
	for _, n := range d.instanceNames() {
		i := d.insts[n]
		id := instanceDump{
			Name: i.name, VRID: int(i.vcfg.VRID), Interface: i.cfg.Interface, State: i.state.String(), Since: i.since,
			BasePriority: int(i.vcfg.Priority), AdvertInterval: i.vcfg.AdvertInterval.String(), Version: i.vcfg.Version,
			Source: i.vcfg.Source.String(), VIPs: slices.Clone(i.vips),
		}
		for _, a := range i.vm.Owned() {
			id.Installed = append(id.Installed, a.String())
		}
		slices.Sort(id.Installed)
		id.Priority = int(i.inst.Priority())
		id.Stats = i.inst.Stats()
		s.Instances = append(s.Instances, id)
	}
	if d.lvs != nil {
		s.LVS = d.lvs.dump()
	}
	return s
}

// writeDump writes the text dump (keepalived.data) or the JSON dump.
// The snapshot is taken on the loop, the file written by the caller.
func (d *daemon) writeDump(asJSON bool) {
	var s stateDump
	if !d.call(func(done func()) {
		s = d.snapshot()
		done()
	}) {
		return
	}
	var path string
	var data []byte
	if asJSON {
		path = d.opt.JSONDump
		b, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			d.log.Error("json dump", "err", err)
			return
		}
		data = append(b, '\n')
	} else {
		path = filepath.Join(d.opt.DumpDir, "keepalived.data")
		data = []byte(textDump(s))
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		d.log.Error("dump", "path", path, "err", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		d.log.Error("dump", "path", path, "err", err)
		return
	}
	d.log.Info("dump written", "path", path)
}

// textDump formats a dump as keepalived.data-like text.
func textDump(s stateDump) string {
	var b strings.Builder
	fmt.Fprintf(&b, "------< keepalived-go state dump %s >------\n", s.Time.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, " Config file = %s\n Started = %s\n", s.Config, s.Started.UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "------< VRRP Topology >------\n")
	for _, i := range s.Instances {
		fmt.Fprintf(&b, " VRRP Instance = %s\n", i.Name)
		fmt.Fprintf(&b, "   State = %s (since %s)\n", i.State, i.Since.UTC().Format(time.RFC3339Nano))
		fmt.Fprintf(&b, "   Interface = %s\n   Virtual Router ID = %d\n   Version = %d\n", i.Interface, i.VRID, i.Version)
		fmt.Fprintf(&b, "   Priority = %d (base %d)\n   Advert interval = %s\n   Source = %s\n", i.Priority, i.BasePriority, i.AdvertInterval, i.Source)
		fmt.Fprintf(&b, "   Virtual IP = %d\n", len(i.VIPs))
		for _, v := range i.VIPs {
			fmt.Fprintf(&b, "     %s\n", v)
		}
		fmt.Fprintf(&b, "   Installed = %d\n", len(i.Installed))
		for _, v := range i.Installed {
			fmt.Fprintf(&b, "     %s\n", v)
		}
		fmt.Fprintf(&b, "   Adverts sent = %d, received = %d, transitions = %d, dropped = %d\n",
			i.Stats.AdvertsSent, i.Stats.AdvertsReceived, i.Stats.Transitions, i.Stats.Dropped())
	}
	if len(s.LVS) > 0 {
		fmt.Fprintf(&b, "------< LVS Topology >------\n")
		for _, l := range s.LVS {
			fmt.Fprintf(&b, " %s\n", l)
		}
	}
	return b.String()
}
