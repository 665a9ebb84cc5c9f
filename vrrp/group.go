package vrrp

// Group is the pure logic of a sync group (keepalived's vrrp_sync_group):
// members move to MASTER and BACKUP together, and while any member is
// faulted by its own tracked objects, every member is in FAULT. A BACKUP
// member whose master down timer expires goes MASTER only once every other
// member is MASTER or wants to be (its own timer expired too); then they
// all go. A member leaving MASTER for BACKUP takes the others with it.
//
// Feed every action of every member's [Machine] to Propagate; when it
// returns ok, deliver the event to every member (including the one whose
// action it was; that member ignores it). [SyncGroup] does this for
// Instances, and vrrptest.LAN for simulated routers. A Group is not safe
// for concurrent use.
type Group struct {
	own   []bool
	want  []bool
	state []State
}

// NewGroup returns a Group of n members, numbered 0..n-1. Each member's
// Machine must receive [EventJoinGroup] before it starts.
func NewGroup(n int) *Group {
	return &Group{own: make([]bool, n), want: make([]bool, n), state: make([]State, n)}
}

// Propagate returns the event that member's action a implies for the
// members of the group, if any.
func (g *Group) Propagate(member int, a Action) (Event, bool) {
	if member < 0 || member >= len(g.own) {
		return Event{}, false
	}
	switch a.Kind {
	case ActionFaultChange:
		before := g.anyFault()
		g.own[member] = a.Faulted
		if after := g.anyFault(); after != before {
			return Event{Kind: EventGroupFault, Up: !after}, true
		}
	case ActionWantMaster:
		g.want[member] = a.Want
		if !a.Want {
			return Event{}, false
		}
		for i, w := range g.want {
			if !w && g.state[i] != StateMaster {
				return Event{}, false // wait until every member can go
			}
		}
		return Event{Kind: EventForce, State: StateMaster}, true
	case ActionTransition:
		t := a.Transition
		g.state[member] = t.To
		g.want[member] = false
		if t.Reason == ReasonSyncGroup {
			return Event{}, false
		}
		switch {
		case t.To == StateMaster:
			return Event{Kind: EventForce, State: StateMaster}, true
		case t.From == StateMaster && t.To == StateBackup:
			return Event{Kind: EventForce, State: StateBackup}, true
		}
	}
	return Event{}, false
}

func (g *Group) anyFault() bool {
	for _, f := range g.own {
		if f {
			return true
		}
	}
	return false
}
