package vip

// This file owns the VMAC interfaces on Linux (RFC 5798 §7.3 macvlans):
// CreateVMAC, DeleteVMAC and the ARP sysctls set on a VMAC and saved and
// restored on its parent.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
)

// CreateVMAC creates the macvlan interface v (private mode, virtual router
// MAC), sets the ARP sysctls keepalived sets (IPv4 only: arp_ignore=1 and
// rp_filter=0 on the VMAC; arp_ignore=1 and arp_filter=1 on the parent, so
// only the VMAC answers ARP for the virtual addresses) and brings it up.
// DeleteVMAC or RemoveAll remove it and restore the parent's sysctls.
func (m *Manager) CreateVMAC(ctx context.Context, v VMAC) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if v.Name == "" || v.Parent == "" || v.VRID == 0 {
		return m.fail(fmt.Errorf("vip: vmac %q: name, parent and vrid required", v.Name))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.vmacs[v.Name]; ok {
		return nil
	}
	parent, err := m.link(v.Parent)
	if err != nil {
		return m.fail(err)
	}
	mac := v.HardwareAddr()
	la := netlink.NewLinkAttrs()
	la.Name = v.Name
	la.ParentIndex = parent.Attrs().Index
	la.HardwareAddr = net.HardwareAddr(mac[:])
	mv := &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := m.h.LinkAdd(mv); err != nil {
		return m.fail(fmt.Errorf("vip: create vmac %s on %s: %w", v.Name, v.Parent, err))
	}
	m.vmacs[v.Name] = v
	m.st.vmacsCreated.Add(1)
	if !v.IPv6 {
		if err := m.setSysctls(v); err != nil {
			return m.fail(err)
		}
	}
	if err := m.h.LinkSetUp(mv); err != nil {
		return m.fail(fmt.Errorf("vip: vmac %s up: %w", v.Name, err))
	}
	m.log.Info("vmac created", "iface", v.Name, "parent", v.Parent, "vrid", v.VRID)
	return nil
}

func confPath(iface, key string) string {
	return "/proc/sys/net/ipv4/conf/" + iface + "/" + key
}

func (m *Manager) setSysctls(v VMAC) error {
	return m.inNS(func() error {
		var errs []error
		for k, val := range map[string]string{"arp_ignore": "1", "rp_filter": "0"} {
			if err := os.WriteFile(confPath(v.Name, k), []byte(val), 0); err != nil {
				errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
			}
		}
		if _, ok := m.parents[v.Parent]; !ok {
			saved := map[string]string{}
			for _, k := range []string{"arp_ignore", "arp_filter"} {
				old, err := os.ReadFile(confPath(v.Parent, k))
				if err != nil {
					errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
					continue
				}
				saved[k] = strings.TrimSpace(string(old))
				if err := os.WriteFile(confPath(v.Parent, k), []byte("1"), 0); err != nil {
					errs = append(errs, fmt.Errorf("vip: sysctl %s: %w", k, err))
				}
			}
			m.parents[v.Parent] = saved
		}
		return errors.Join(errs...)
	})
}

// DeleteVMAC deletes a VMAC interface this Manager created.
func (m *Manager) DeleteVMAC(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteVMAC(name)
}

func (m *Manager) deleteVMAC(name string) error {
	v, ok := m.vmacs[name]
	if !ok {
		return nil
	}
	delete(m.vmacs, name)
	var errs []error
	if l, err := m.h.LinkByName(name); err == nil {
		// Its announcement socket dies with it: close it rather than keep
		// it until Close (a VMAC made again gets a new index).
		if c, ok := m.conns[l.Attrs().Index]; ok {
			c.Close()
			delete(m.conns, l.Attrs().Index)
		}
		if err := m.h.LinkDel(l); err != nil {
			errs = append(errs, fmt.Errorf("vip: delete vmac %s: %w", name, err))
		}
	}
	// Addresses on it vanished with it.
	for k, a := range m.addrs {
		if a.Interface == name {
			errs = append(errs, m.forgetAddr(k))
		}
	}
	m.st.vmacsDeleted.Add(1)
	// Restore the parent's sysctls once no VMAC of ours uses it.
	inUse := false
	for _, o := range m.vmacs {
		inUse = inUse || o.Parent == v.Parent
	}
	if saved, ok := m.parents[v.Parent]; ok && !inUse {
		delete(m.parents, v.Parent)
		errs = append(errs, m.inNS(func() error {
			var e []error
			for k, val := range saved {
				if err := os.WriteFile(confPath(v.Parent, k), []byte(val), 0); err != nil {
					e = append(e, fmt.Errorf("vip: restore sysctl %s: %w", k, err))
				}
			}
			return errors.Join(e...)
		}))
	}
	return m.fail(errors.Join(errs...))
}
