package bfd

// UDPConfig configures [ListenUDP]. The zero value listens for single-hop
// and multi-hop sessions over IPv4 and IPv6 on every interface.
type UDPConfig struct {
	// Interface binds every socket to this interface or VRF device
	// (SO_BINDTODEVICE). Empty means all interfaces.
	Interface string
	// DisableSingleHop skips the UDP 3784 listeners (RFC 5881).
	DisableSingleHop bool
	// DisableMultiHop skips the UDP 4784 listeners (RFC 5883).
	DisableMultiHop bool
	// DisableIPv4 and DisableIPv6 skip an address family. An address
	// family the system lacks is skipped silently unless the other one is
	// disabled too.
	DisableIPv4, DisableIPv6 bool
	// SourcePort is the UDP source port of every packet sent. If zero, a
	// free port in 49152–65535 is picked (RFC 5881 §4).
	SourcePort uint16
	// TOS is the IPv4 TOS / IPv6 traffic class of sent packets. If zero,
	// 0xc0 (CS6, network control), as FRR sends.
	TOS uint8
}
