// Command embed is the README's "Embed failover in your daemon" program:
// VRRP decides, vip adds and announces the address. README_test.go keeps
// the two identical.
package main

import (
	"context"
	"errors"
	"log"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/vip"
	"github.com/nux-root/keepalived-go/vrrp"
)

func main() {
	// SIGINT/SIGTERM cancel ctx: Run then sends a priority-0 advertisement.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, "eth0", 51, netip.MustParsePrefix("192.0.2.100/24")); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, iface string, vrid uint8, vipPrefix netip.Prefix) error {
	conn, err := vrrp.Listen(vrrp.ConnConfig{Interface: iface}) // CAP_NET_RAW
	if err != nil {
		return err
	}
	defer conn.Close()
	tr, err := conn.Transport(vrid)
	if err != nil {
		return err
	}
	vm, err := vip.New(vip.Config{}) // CAP_NET_ADMIN
	if err != nil {
		return err
	}
	defer vm.Close() // removes exactly the addresses it added
	inst, err := vrrp.New(vrrp.Config{
		VRID: vrid, Priority: 150, AdvertInterval: 100 * time.Millisecond,
		Addrs: []netip.Addr{vipPrefix.Addr()}, // Source: the Conn's address
	}, tr)
	if err != nil {
		return err
	}
	// Every transition, queued without ever blocking the instance; the
	// channel closes after Run returns.
	transitions := inst.Watch(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Run(ctx) }()

	addr := vip.Address{Prefix: vipPrefix, Interface: iface}
	for t := range transitions {
		log.Printf("%v -> %v (%v)", t.From, t.To, t.Reason)
		var err error
		switch t.To {
		case vrrp.StateMaster:
			if err = vm.Add(ctx, addr); err == nil {
				err = vm.Announce(ctx, iface, []netip.Addr{addr.Prefix.Addr()}) // gratuitous ARP
			}
		case vrrp.StateStop: // Run has said goodbye; the address goes below
		default: // BACKUP, FAULT
			vm.StopAnnounce(iface)
			err = vm.RemoveAll(ctx)
		}
		if err != nil {
			log.Printf("%v: %v", t.To, err)
		}
	}
	return errors.Join(<-done, vm.RemoveAll(context.Background()))
}
