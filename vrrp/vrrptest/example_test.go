package vrrptest_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/nux-root/keepalived-go/vrrp"
	"github.com/nux-root/keepalived-go/vrrp/vrrptest"
)

// Three routers on a simulated LAN: the highest priority wins, takes over
// again after a crash of the new master, and preempts when it returns.
func ExampleLAN() {
	lan := vrrptest.NewLAN(vrrptest.LANConfig{Seed: 1})
	var rs []*vrrptest.Router
	for i, prio := range []uint8{200, 150, 100} {
		r, err := lan.AddRouter(fmt.Sprintf("r%d", i+1), vrrp.Config{
			VRID:           51,
			Priority:       prio,
			AdvertInterval: 100 * time.Millisecond,
			Source:         netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		rs = append(rs, r)
		lan.Start(r)
	}
	lan.Run(time.Second)
	lan.Crash(rs[0])
	lan.Run(time.Second)
	lan.Restart(rs[0])
	lan.Run(time.Second)
	for _, t := range lan.Transitions() {
		fmt.Printf("%v %s %v -> %v (%v)\n", t.At.Sub(lan.Now().Add(-lan.Elapsed())), t.Router.Name(), t.From, t.To, t.Reason)
	}
	fmt.Println("master:", lan.Masters(51)[0].Name())
	// Output:
	// 0s r1 INIT -> BACKUP (startup)
	// 0s r2 INIT -> BACKUP (startup)
	// 0s r3 INIT -> BACKUP (startup)
	// 321.875ms r1 BACKUP -> MASTER (master down timer expired)
	// 1.26338125s r2 BACKUP -> MASTER (master down timer expired)
	// 2s r1 INIT -> BACKUP (startup)
	// 2.321875s r1 BACKUP -> MASTER (preempted lower-priority master)
	// 2.321975s r2 MASTER -> BACKUP (higher-priority advertisement)
	// master: r1
}

// Run seeded scenarios and check the VRRP invariants.
func ExampleRunScenarios() {
	n, _, err := vrrptest.RunScenarios(1, 100)
	fmt.Println(n, err)
	// Output:
	// 100 <nil>
}
