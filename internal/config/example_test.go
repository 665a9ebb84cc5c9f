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
