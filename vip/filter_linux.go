package vip

// This file owns the NoAccept filter on Linux: an nftables inet table
// (Config.FilterTable) with one set of IPv4 and one of IPv6 addresses and
// an input chain that drops what is sent to them and is not VRRP, created
// with the first filtered address and deleted with the last, through
// google/nftables (no nft command).

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// vrrpProto is the IP protocol number of VRRP (RFC 5798 §5.1.1.4).
const vrrpProto = 112

// filter is the Manager's nftables state; m.mu guards it.
type filter struct {
	conn       *nftables.Conn // lasting, in the Manager's namespace; nil until first use
	table      *nftables.Table
	set4, set6 *nftables.Set
	installed  bool
	refs       map[netip.Addr]int // filtered address -> owned addresses using it
}

func (m *Manager) nft() (*nftables.Conn, error) {
	if m.filt.conn != nil {
		return m.filt.conn, nil
	}
	opts := []nftables.ConnOption{nftables.AsLasting()}
	if m.ns.IsOpen() {
		opts = append(opts, nftables.WithNetNSFd(int(m.ns)))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return nil, nftErr("connect", err)
	}
	m.filt.conn = c
	return c, nil
}

// nftErr wraps err (without the "vip: " prefix, which the exported
// method's error adds); a kernel without nf_tables makes it also match
// errors.ErrUnsupported.
func nftErr(op string, err error) error {
	if errors.Is(err, unix.EPROTONOSUPPORT) || errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("nftables %s: %w (%w)", op, err, errors.ErrUnsupported)
	}
	return fmt.Errorf("nftables %s: %w", op, err)
}

// vipErr prefixes an unprefixed internal error with "vip: ".
func vipErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("vip: %w", err)
}

func setElem(ip netip.Addr) []nftables.SetElement {
	return []nftables.SetElement{{Key: ip.AsSlice()}}
}

// filterAdd puts ip in the filter, creating the table first if needed.
// m.mu is held.
func (m *Manager) filterAdd(ip netip.Addr) error {
	ip = ip.Unmap()
	if m.filt.refs == nil {
		m.filt.refs = map[netip.Addr]int{}
	}
	if m.filt.refs[ip] > 0 {
		m.filt.refs[ip]++
		return nil
	}
	c, err := m.nft()
	if err != nil {
		return err
	}
	if !m.filt.installed {
		if err := m.filterInstall(c); err != nil {
			return err
		}
	}
	set := m.filt.set4
	if ip.Is6() {
		set = m.filt.set6
	}
	if err := c.SetAddElements(set, setElem(ip)); err != nil {
		return nftErr("add element", err)
	}
	if err := c.Flush(); err != nil {
		return nftErr(fmt.Sprintf("filter %s", ip), err)
	}
	m.filt.refs[ip] = 1
	m.st.filtered.Store(uint64(len(m.filt.refs)))
	m.log.Info("address filtered (no accept)", "addr", ip.String(), "table", m.cfg.filterTable())
	return nil
}

// filterDel takes ip out of the filter once no owned address uses it, and
// deletes the table when it is empty. m.mu is held.
func (m *Manager) filterDel(ip netip.Addr) error {
	ip = ip.Unmap()
	switch m.filt.refs[ip] {
	case 0:
		return nil
	case 1:
	default:
		m.filt.refs[ip]--
		return nil
	}
	delete(m.filt.refs, ip)
	m.st.filtered.Store(uint64(len(m.filt.refs)))
	if len(m.filt.refs) == 0 {
		return m.filterUninstall()
	}
	set := m.filt.set4
	if ip.Is6() {
		set = m.filt.set6
	}
	c := m.filt.conn
	if err := c.SetDeleteElements(set, setElem(ip)); err != nil {
		return nftErr("delete element", err)
	}
	if err := c.Flush(); err != nil {
		return nftErr(fmt.Sprintf("unfilter %s", ip), err)
	}
	return nil
}

// filterInstall creates the table, replacing one of that name left by an
// earlier run:
//
//	table inet keepalived-go {
//		set vips4 { type ipv4_addr; }
//		set vips6 { type ipv6_addr; }
//		chain input {
//			type filter hook input priority filter - 1; policy accept;
//			meta nfproto ipv4 ip daddr @vips4 meta l4proto != 112 counter drop
//			meta nfproto ipv6 ip6 daddr @vips6 meta l4proto 58 icmpv6 type 135-136 accept
//			meta nfproto ipv6 ip6 daddr @vips6 meta l4proto != 112 counter drop
//		}
//	}
func (m *Manager) filterInstall(c *nftables.Conn) error {
	name := m.cfg.filterTable()
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nftErr("list tables", err)
	}
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: name}
	for _, o := range tables {
		if o.Name == name {
			m.log.Warn("replacing a leftover nftables table", "table", name)
			c.DelTable(t)
		}
	}
	c.AddTable(t)
	s4 := &nftables.Set{Table: t, Name: "vips4", KeyType: nftables.TypeIPAddr}
	s6 := &nftables.Set{Table: t, Name: "vips6", KeyType: nftables.TypeIP6Addr}
	if err := c.AddSet(s4, nil); err != nil {
		return nftErr("add set", err)
	}
	if err := c.AddSet(s6, nil); err != nil {
		return nftErr("add set", err)
	}
	policy := nftables.ChainPolicyAccept
	ch := c.AddChain(&nftables.Chain{
		Name: "input", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityFilter - 1),
		Policy: &policy,
	})
	match := func(fam byte, offset, n uint32, set *nftables.Set) []expr.Any {
		return []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: n},
			&expr.Lookup{SourceRegister: 1, SetName: set.Name, SetID: set.ID},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		}
	}
	notVRRPDrop := []expr.Any{
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{vrrpProto}},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: ch,
		Exprs: append(match(unix.NFPROTO_IPV4, 16, 4, s4), notVRRPDrop...)})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: append(match(unix.NFPROTO_IPV6, 24, 16, s6),
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
		&expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: []byte{135}, ToData: []byte{136}}, // NS, NA
		&expr.Verdict{Kind: expr.VerdictAccept},
	)})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch,
		Exprs: append(match(unix.NFPROTO_IPV6, 24, 16, s6), notVRRPDrop...)})
	if err := c.Flush(); err != nil {
		return nftErr("create table "+name, err)
	}
	m.filt.table, m.filt.set4, m.filt.set6, m.filt.installed = t, s4, s6, true
	return nil
}

// filterUninstall deletes the table if it is installed. m.mu is held.
func (m *Manager) filterUninstall() error {
	if !m.filt.installed {
		return nil
	}
	m.filt.installed = false
	clear(m.filt.refs)
	m.st.filtered.Store(0)
	c := m.filt.conn
	c.DelTable(m.filt.table)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return nftErr("delete table "+m.filt.table.Name, err)
	}
	m.log.Info("nftables filter table deleted", "table", m.filt.table.Name)
	return nil
}

// filterClose deletes the table and closes the connection. m.mu is held.
func (m *Manager) filterClose() error {
	if m.filt.conn == nil {
		return nil
	}
	err := m.filterUninstall()
	if cerr := m.filt.conn.CloseLasting(); cerr != nil {
		err = errors.Join(err, nftErr("close", cerr))
	}
	m.filt.conn = nil
	return err
}
