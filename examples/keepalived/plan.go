package main

// This file owns the reload plan: what decides whether a running instance
// is kept, updated in place, restarted, added or removed, and the rule
// that a sync group moves as one. planReload is pure; apply (daemon.go)
// carries the plan out.

import (
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
)

// planReload plans the move from old to next: diffInstances, then a
// restart or add of any sync group member restarts every member.
func planReload(old, next *config.Config) []change {
	return expandGroups(old, next, diffInstances(old, next))
}

// instanceSpec is what decides whether a running instance must change on
// reload: the instance block and everything it refers to. Specs are
// compared with config.Equal, which ignores positions.
type instanceSpec struct {
	Inst    config.Instance
	Group   *config.SyncGroup // nil: in no sync group
	Scripts []config.Script
	Files   []config.TrackFile
	Procs   []config.TrackProcess
	BFDs    []config.BFDInstance
	Garp    [2]time.Duration
}

// specOf returns the reload spec of instance in of c.
func specOf(c *config.Config, in *config.Instance) instanceSpec {
	s := instanceSpec{Inst: *in, Garp: [2]time.Duration{c.Global.VRRPGarpInterval, c.Global.VRRPGnaInterval}}
	if sg, ok := c.SyncGroupOf(in.Name); ok {
		s.Group = sg
	}
	for _, r := range instanceTracks(c, in) {
		switch r.key.kind {
		case trackScript:
			if sc, ok := c.Script(r.key.name); ok {
				s.Scripts = append(s.Scripts, *sc)
			}
		case trackFile:
			if f, ok := c.TrackFile(r.key.name); ok {
				s.Files = append(s.Files, *f)
			}
		case trackProcess:
			if p, ok := c.TrackProcess(r.key.name); ok {
				s.Procs = append(s.Procs, *p)
			}
		case trackBFD:
			if b, ok := c.BFDInstance(r.key.name); ok {
				s.BFDs = append(s.BFDs, *b)
			}
		}
	}
	return s
}

// changeKind says what a reload does to one instance.
type changeKind int

const (
	changeKeep    changeKind = iota // identical: leave it running untouched
	changeUpdate                    // Instance.Update plus address reconciliation
	changeRestart                   // stop and start again (VRID, family, interface, ...)
	changeAdd                       // new instance
	changeRemove                    // instance gone
)

func (k changeKind) String() string {
	return [...]string{"keep", "update", "restart", "add", "remove"}[k]
}

// change is one entry of a reload plan.
type change struct {
	Name string
	Kind changeKind
}

// diffInstances plans a reload from old to new, in the order of new's
// instances, then removals in the order of old's.
func diffInstances(oldC, newC *config.Config) []change {
	var out []change
	for i := range newC.Instances {
		n := &newC.Instances[i]
		o, ok := oldC.Instance(n.Name)
		if !ok {
			out = append(out, change{n.Name, changeAdd})
			continue
		}
		os, ns := specOf(oldC, o), specOf(newC, n)
		switch {
		case config.Equal(os, ns):
			out = append(out, change{n.Name, changeKeep})
		case needsRestart(os, ns):
			out = append(out, change{n.Name, changeRestart})
		default:
			out = append(out, change{n.Name, changeUpdate})
		}
	}
	for i := range oldC.Instances {
		if _, ok := newC.Instance(oldC.Instances[i].Name); !ok {
			out = append(out, change{oldC.Instances[i].Name, changeRemove})
		}
	}
	return out
}

// needsRestart reports whether a change cannot be applied by
// Instance.Update: identity (VRID, version, family), socket (interface,
// source), authentication, sync group membership, announcement policy and
// VMAC.
func needsRestart(o, n instanceSpec) bool {
	a, b := o.Inst, n.Inst
	return a.VRID != b.VRID || a.Version != b.Version || a.IPv6() != b.IPv6() ||
		a.Interface != b.Interface || a.SrcIP != b.SrcIP ||
		!config.Equal(a.Auth, b.Auth) || !config.Equal(o.Group, n.Group) ||
		a.UseVMAC != b.UseVMAC || a.GarpMasterDelay != b.GarpMasterDelay ||
		a.GarpMasterRepeat != b.GarpMasterRepeat || a.GarpMasterRefresh != b.GarpMasterRefresh ||
		a.GarpMasterRefreshRepeat != b.GarpMasterRefreshRepeat || o.Garp != n.Garp
}

// expandGroups turns a restart or add of any sync group member into a
// restart of every member that keeps running.
func expandGroups(oldC, newC *config.Config, plan []change) []change {
	idx := map[string]int{}
	for i, c := range plan {
		idx[c.Name] = i
	}
	for gi := range newC.SyncGroups {
		g := &newC.SyncGroups[gi]
		restart := false
		for _, m := range g.Group {
			if i, ok := idx[m]; ok && (plan[i].Kind == changeRestart || plan[i].Kind == changeAdd) {
				restart = true
			}
		}
		if !restart {
			continue
		}
		for _, m := range g.Group {
			if i, ok := idx[m]; ok && (plan[i].Kind == changeKeep || plan[i].Kind == changeUpdate) {
				plan[i].Kind = changeRestart
			}
		}
	}
	return plan
}
