package main

import (
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

const masterConf = `
global_defs {
    notify_fifo NOTIFY_FIFO
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    notify_master "/bin/master arg"
    notify "/bin/notify"
    virtual_ipaddress {
        192.0.2.100/24
    }
}
`

// TestDaemonMasterAndShutdown: a lone instance starts as BACKUP and becomes MASTER after the
// master-down interval, installs and announces its address, writes the
// FIFO line and runs its scripts; shutdown removes the address, writes
// STOP and closes every socket and manager.
func TestDaemonMasterAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		td, c := newTestDaemon(t, masterConf)
		td.run(c)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`}, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"ip addr add 192.0.2.100/24 dev eth0", "announce eth0 [192.0.2.100]"}, td.f.takeOps()); diff != "" {
			t.Errorf("VIP operations (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{"/bin/notify INSTANCE VI_1 BACKUP 100", "/bin/master arg", "/bin/notify INSTANCE VI_1 MASTER 100"}, td.f.takeScripts()); diff != "" {
			t.Errorf("scripts (-want +got):\n%s", diff)
		}
		td.shutdown()
		if diff := cmp.Diff([]string{`INSTANCE "VI_1" BACKUP 100`, `INSTANCE "VI_1" MASTER 100`, `INSTANCE "VI_1" STOP 100`}, td.fifoLines(t)); diff != "" {
			t.Errorf("FIFO after shutdown (-want +got):\n%s", diff)
		}
		if got := td.f.ownedAll(); len(got) != 0 {
			t.Errorf("owned after shutdown: %v", got)
		}
		if c, m := td.f.open(); c != 0 || m != 0 {
			t.Errorf("after shutdown %d sockets and %d managers open, want none", c, m)
		}
		td.writeDump(true) // after shutdown: returns, writes nothing
		if _, err := os.Stat(td.opt.JSONDump); err == nil {
			t.Error("a dump was written after shutdown")
		}
	})
}
