package testutil

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkNotReady says why iface is not ready yet, or returns "" if it is.
func linkNotReady(h *netlink.Handle, iface string, v6 bool) string {
	l, err := h.LinkByName(iface)
	if err != nil {
		return err.Error()
	}
	if s := l.Attrs().OperState; s != netlink.OperUp {
		return "operstate " + s.String()
	}
	if !v6 {
		return ""
	}
	addrs, err := h.AddrList(l, netlink.FAMILY_V6)
	if err != nil {
		return err.Error()
	}
	for _, a := range addrs {
		if a.IP.IsLinkLocalUnicast() && a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) == 0 {
			return ""
		}
	}
	return fmt.Sprintf("no usable IPv6 link-local address yet (have %v)", addrs)
}
