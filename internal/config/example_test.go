package config_test

import (
	"fmt"

	"github.com/nux-root/keepalived-go/internal/config"
)

func Example() {
	src := []byte(`
$VIP=192.0.2.100
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        ${VIP}/24 dev eth0
    }
    bogus_option 1
}
`)
	cfg, warnings, err := config.Parse("keepalived.conf", src, config.Options{ConfigID: "lb1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range warnings {
		fmt.Println("warning:", w)
	}
	vi := cfg.Instances[0]
	fmt.Println(vi.Name, vi.State, vi.VRID, vi.Priority, vi.AdvertInt, vi.VirtualIPs[0].Prefix)
	// Output:
	// warning: keepalived.conf:12:5: unknown keyword 'bogus_option'
	// VI_1 MASTER 51 150 1s 192.0.2.100/24
}

func ExampleFormat() {
	src := []byte(`
@lb1 $PRIO=150
@^lb1 $PRIO=100
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority $PRIO
    virtual_ipaddress {
        ~SEQ(N, 1, 2) 192.0.2.${N}/24
    }
}
`)
	cfg, _, err := config.Parse("keepalived.conf", src, config.Options{ConfigID: "lb1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Print only a few fields: a zero value means "keepalived's default".
	vi := cfg.Instances[0]
	short := config.Instance{Name: vi.Name, Interface: vi.Interface, VRID: vi.VRID, Priority: vi.Priority, VirtualIPs: vi.VirtualIPs}
	fmt.Print(string(config.Format(&config.Config{Instances: []config.Instance{short}})))
	// Output:
	// vrrp_instance VI_1 {
	//     interface eth0
	//     virtual_router_id 51
	//     priority 150
	//     virtual_ipaddress {
	//         192.0.2.1/24 dev eth0
	//         192.0.2.2/24 dev eth0
	//     }
	//     check_unicast_src off
	//     garp_master_delay 0
	//     garp_lower_prio_delay 0
	//     garp_master_refresh 0
	//     lower_prio_no_advert off
	//     higher_prio_send_advert off
	//     skip_check_adv_addr off
	//     strict_mode off
	// }
}
