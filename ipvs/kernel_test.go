package ipvs

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Master.String(), "master"}, {Backup.String(), "backup"}, {Role(9).String(), "Role(9)"},
		{IPv4.String(), "IPv4"}, {Family(3).String(), "Family(3)"},
		{Protocol(0).String(), "none"}, {Protocol(1).String(), "Protocol(1)"},
		{Local.String(), "Local"}, {Forward(9).String(), "Forward(9)"},
		{GRE.String(), "gre"}, {TunnelType(7).String(), "TunnelType(7)"},
		{SetTimeouts.String(), "set-timeouts"}, {OpKind(99).String(), "OpKind(99)"},
		{QuorumDown.String(), "quorum-down"}, {EventKind(0).String(), "EventKind(0)"},
		{(&OpError{Op: Op{Kind: DeleteService, Service: Service{Key: vip80}}, Err: ErrNoService}).Error(),
			"ipvs: -D -t 192.0.2.10:80: no such service"},
		{Op{Kind: SetTimeouts, Timeouts: Timeouts{TCP: time.Minute}}.String(), "--set 60 0 0"},
		{Op{Kind: AddService, Service: Service{Key: SCTPService(netip.MustParseAddrPort("192.0.2.1:9")),
			Persistence: Persistence{Timeout: time.Second, Engine: "sip"}}}.String(), "-A --sctp-service 192.0.2.1:9 -s wlc -p 1 --pe sip"},
		{Op{Kind: UpdateDestination, Service: Service{Key: FWMarkService(IPv4, 1)},
			Destination: Destination{Addr: rs1, Forward: Tunnel, TunnelType: GRE, TunnelFlags: TunnelRemCsum}}.String(),
			"-e -f 1 -r 198.51.100.1:8080 -i --tun-type gre --tun-remcsum -w 0"},
		{Op{Kind: AddDestination, Service: Service{Key: vip80}, Destination: Destination{Addr: rs1, Forward: Local}}.String(),
			"-a -t 192.0.2.10:80 -r 198.51.100.1:8080 --forward Local -w 0"},
		{Op{}.String(), "invalid"},
		{Destination{Addr: rs1, Forward: Tunnel, TunnelType: GUE, TunnelPort: 9, UpperThreshold: 3}.String(), "198.51.100.1:8080 Tunnel w0 gue:9 x3 y0"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	oe := &OpError{Err: ErrExist}
	if !errors.Is(oe, ErrExist) {
		t.Error("OpError does not unwrap")
	}
}

func TestSyncDaemonValidate(t *testing.T) {
	if err := (SyncDaemon{Role: Master, Interface: "eth0", Group: netip.MustParseAddr("239.0.0.1")}).Validate(); err != nil {
		t.Errorf("valid daemon: %v", err)
	}
	err := SyncDaemon{Role: 3, Interface: strings.Repeat("x", 16), Group: netip.MustParseAddr("192.0.2.1")}.Validate()
	for _, w := range []string{"role", "interface", "multicast"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Validate() = %v, want it to mention %q", err, w)
		}
	}
}

func TestOwnedClone(t *testing.T) {
	var o Owned
	o.Track(Op{Kind: AddService, Service: Service{Key: vip80}})
	o.Track(Op{Kind: AddDestination, Service: Service{Key: vip80}, Destination: Destination{Addr: rs1}})
	c := o.Clone()
	o.Track(Op{Kind: DeleteService, Service: Service{Key: vip80}})
	if len(o.Services) != 0 || len(o.Destinations) != 0 {
		t.Errorf("after delete: %+v", o)
	}
	if !c.Services[vip80] || !c.Destinations[DestinationKey{vip80, rs1}] {
		t.Errorf("clone changed: %+v", c)
	}
	c.Track(Op{Kind: DeleteDestination, Service: Service{Key: vip80}, Destination: Destination{Addr: rs1}})
	if len(c.Destinations) != 0 {
		t.Errorf("after delete-destination: %+v", c)
	}
}
