package vrrp

// DropReason says why a received message was dropped (RFC 5798 §7.1 and
// the keepalived checks). Drops are counted in [Stats.Drops], never acted
// on.
type DropReason uint8

// Drop reasons.
const (
	DropNone       DropReason = iota
	DropTTL                   // TTL / hop limit not 255 (or outside the unicast range)
	DropFamily                // source address missing, or source or destination of the other family
	DropLength                // too short, or address count beyond the length
	DropVersion               // version not the configured one
	DropType                  // not an advertisement
	DropVRID                  // another virtual router
	DropChecksum              // bad checksum (or a variant not accepted)
	DropAuthType              // VRRPv2 authentication type mismatch
	DropAuth                  // VRRPv2 password mismatch
	DropInterval              // VRRPv2 interval mismatch, or VRRPv3 interval 0
	DropOwnAddress            // sent from our own primary address (looped back)
	DropPeer                  // unicast source not a configured peer
	DropAddrs                 // address list mismatch with Config.StrictAddrs
	DropNotRunning            // received in INIT, FAULT or STOP
	numDropReasons
)

// NumDropReasons is the number of DropReason values, for iterating.
const NumDropReasons = int(numDropReasons)

// String returns a short snake_case name, usable as a metric label.
func (r DropReason) String() string {
	switch r {
	case DropNone:
		return "none"
	case DropTTL:
		return "ttl"
	case DropFamily:
		return "family"
	case DropLength:
		return "length"
	case DropVersion:
		return "version"
	case DropType:
		return "type"
	case DropVRID:
		return "vrid"
	case DropChecksum:
		return "checksum"
	case DropAuthType:
		return "auth_type"
	case DropAuth:
		return "auth"
	case DropInterval:
		return "interval"
	case DropOwnAddress:
		return "own_address"
	case DropPeer:
		return "peer"
	case DropAddrs:
		return "addrs"
	case DropNotRunning:
		return "not_running"
	}
	return "DropReason(" + itoa(int(r)) + ")"
}

// Stats are the counters of an instance.
type Stats struct {
	// PacketsReceived counts every message handed to the instance.
	PacketsReceived uint64
	// AdvertsReceived counts valid advertisements processed.
	AdvertsReceived uint64
	// PriorityZeroReceived counts valid advertisements with priority 0.
	PriorityZeroReceived uint64
	// LowerPriorityReceived counts advertisements a MASTER received that
	// do not preempt it (lower priority, not 0; or equal priority from a
	// lower address): [ActionLowerPriority].
	LowerPriorityReceived uint64
	// MasterDownHints counts [EventMasterDown] hints acted on;
	// MasterDownHintsIgnored those ignored (another address than the last
	// heard master, or not BACKUP).
	MasterDownHints, MasterDownHintsIgnored uint64
	// AdvertsSent counts advertisements sent (one per destination).
	AdvertsSent uint64
	// PriorityZeroSent counts priority-0 advertisements sent.
	PriorityZeroSent uint64
	// Transitions counts state transitions.
	Transitions uint64
	// BecameMaster counts transitions to MASTER; ReleasedMaster from
	// MASTER to BACKUP.
	BecameMaster, ReleasedMaster uint64
	// AddrMismatch counts accepted advertisements whose address list
	// differs from ours (dropped instead with Config.StrictAddrs).
	AddrMismatch uint64
	// ChecksumModeChanges counts switches of the VRRPv3 checksum variant
	// sent, under AcceptDetect.
	ChecksumModeChanges uint64
	// DrainedBeforeTimer counts packets an Instance processed when a timer
	// fired, before acting on it: packets that were already waiting (see
	// [PendingReader]). Instance only.
	DrainedBeforeTimer uint64
	// SendErrors and ReadErrors count transport errors (Instance only).
	SendErrors, ReadErrors uint64
	// Drops counts dropped messages by DropReason.
	Drops [NumDropReasons]uint64
}

// Dropped returns the total number of dropped messages.
func (s *Stats) Dropped() uint64 {
	var n uint64
	for _, d := range s.Drops {
		n += d
	}
	return n
}
