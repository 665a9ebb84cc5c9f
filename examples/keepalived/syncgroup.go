package main

// This file owns the vrrp_sync_groups at run time: joining members that
// start together into a vrrp.SyncGroup, forgetting groups a reload
// dissolves, and the GROUP notifications sent when every member has
// reached the same state. It belongs to the daemon's loop.

import (
	"slices"

	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vrrp"
)

// syncGroup follows a running sync group for its GROUP notifications.
type syncGroup struct {
	cfg     config.SyncGroup
	members []string
	state   string            // the state last notified
	states  map[string]string // member → its last state
}

// formGroups joins the sync groups of cfg whose members all are in
// started (they must be grouped before any of them runs).
func (d *daemon) formGroups(cfg *config.Config, started []*instance) {
	for gi := range cfg.SyncGroups {
		g := &cfg.SyncGroups[gi]
		var members []*vrrp.Instance
		all := true
		for _, m := range g.Group {
			i, ok := d.insts[m]
			if !ok || !contains(started, i) {
				all = false
				break
			}
			members = append(members, i.inst)
		}
		if !all || len(members) < 2 {
			if len(members) > 0 && !all {
				d.log.Warn("vrrp_sync_group: members not all running; not grouped", "group", g.Name)
			}
			continue
		}
		if _, err := vrrp.NewSyncGroup(members...); err != nil {
			d.log.Error("vrrp_sync_group", "group", g.Name, "err", err)
			continue
		}
		d.groups[g.Name] = &syncGroup{cfg: *g, members: g.Group, states: map[string]string{}}
	}
}

func contains(s []*instance, i *instance) bool {
	for _, x := range s {
		if x == i {
			return true
		}
	}
	return false
}

// dropGroups forgets the groups that next no longer has or whose members
// stopped.
func (d *daemon) dropGroups(next *config.Config) {
	for name, g := range d.groups {
		if _, ok := next.SyncGroupOf(g.members[0]); !ok || d.insts[g.members[0]] == nil {
			delete(d.groups, name)
		}
	}
}

// groupTransition reports a member's new state to its sync group, which
// notifies once every member is in that state.
func (d *daemon) groupTransition(member, state string) {
	var g *syncGroup
	for _, x := range d.groups {
		if slices.Contains(x.members, member) {
			g = x
		}
	}
	if g == nil {
		return
	}
	g.states[member] = state
	for _, m := range g.members {
		if g.states[m] != state {
			return
		}
	}
	if g.state == state {
		return
	}
	g.state = state
	d.log.Info("sync group transition", "group", g.cfg.Name, "state", state)
	var n config.Notify
	switch state {
	case "MASTER":
		n = g.cfg.NotifyMaster
	case "BACKUP":
		n = g.cfg.NotifyBackup
	case "FAULT":
		n = g.cfg.NotifyFault
	case "STOP":
		n = g.cfg.NotifyStop
	}
	d.notify.transition("GROUP", g.cfg.Name, state, 0, n, g.cfg.Notify, "group_"+state, "group_notify")
}
