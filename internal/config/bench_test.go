package config

import (
	"fmt"
	"strings"
	"testing"
)

// bigConfig generates nInst vrrp_instances and nVS virtual servers with
// nRS real servers each.
func bigConfig(nInst, nVS, nRS int) []byte {
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id bench\n}\nvrrp_script chk {\n    script \"/bin/true\"\n    weight -10\n}\n")
	for i := range nInst {
		fmt.Fprintf(&b, `vrrp_instance VI_%d {
    state BACKUP
    interface eth%d
    virtual_router_id %d
    priority %d
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass secret
    }
    virtual_ipaddress {
        10.%d.%d.1/24 dev eth0
        10.%d.%d.2/24
    }
    track_script {
        chk
    }
    notify_master "/etc/keepalived/notify.sh master VI_%d"
}
`, i, i/255, i%255+1, 100+i%100, i/256, i%256, i/256, i%256, i)
	}
	for v := range nVS {
		fmt.Fprintf(&b, "virtual_server 192.0.%d.%d 80 {\n    delay_loop 6\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n", v/256, v%256)
		for r := range nRS {
			fmt.Fprintf(&b, `    real_server 172.16.%d.%d 8080 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
`, v%256, r+1)
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func BenchmarkParseLarge(b *testing.B) {
	src := bigConfig(1000, 1000, 10)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		c, _, err := Parse("big.conf", src, Options{ConfigID: "x"})
		if err != nil || len(c.Instances) != 1000 || len(c.VirtualServers) != 1000 {
			b.Fatalf("err=%v instances=%d", err, len(c.Instances))
		}
	}
}

func BenchmarkFormatLarge(b *testing.B) {
	c, _, err := Parse("big.conf", bigConfig(1000, 1000, 10), Options{ConfigID: "x"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Format(c)
	}
}

func TestBigConfig(t *testing.T) {
	c, warns, err := Parse("big.conf", bigConfig(20, 5, 3), Options{ConfigID: "x"})
	if err != nil || len(warns) != 0 || len(c.Instances) != 20 || len(c.VirtualServers[4].RealServers) != 3 {
		t.Fatalf("err=%v warns=%v", err, warns)
	}
	roundTrip(t, c, warns)
}
