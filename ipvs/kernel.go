package ipvs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Kernel is the IPVS table of one network namespace. [Dial] returns the
// Linux implementation (generic netlink); package ipvstest has an in-memory
// model that rejects what the kernel rejects. Every method honours ctx: a
// call abandoned on cancellation returns ctx.Err().
type Kernel interface {
	// State returns every service with its real servers, counters and
	// statistics, and the global timeouts.
	State(ctx context.Context) (State, error)
	// Exec performs one operation. Errors wrap ErrExist, ErrNoService,
	// ErrNoDestination, ErrNoModule or ErrInvalid where the kernel says so.
	Exec(ctx context.Context, op Op) error
	// Daemons returns the running connection-sync daemons.
	Daemons(ctx context.Context) ([]SyncDaemon, error)
	// StartDaemon starts a sync daemon (ipvsadm --start-daemon).
	StartDaemon(ctx context.Context, d SyncDaemon) error
	// StopDaemon stops the sync daemon of the given role.
	StopDaemon(ctx context.Context, role Role) error
	// Zero clears the statistics of one service, or of all when k is the
	// zero ServiceKey (ipvsadm -Z).
	Zero(ctx context.Context, k ServiceKey) error
}

// Errors that kernel operations wrap.
var (
	ErrExist         = errors.New("already exists")
	ErrNoService     = errors.New("no such service")
	ErrNoDestination = errors.New("no such real server")
	ErrNoModule      = errors.New("scheduler or persistence engine not available")
	ErrNoDaemon      = errors.New("no such sync daemon")
	ErrInvalid       = errors.New("invalid argument")
	// ErrNotSupported: the kernel or this OS lacks a feature. It matches
	// [errors.ErrUnsupported].
	ErrNotSupported error = notSupported{}
	// ErrClosed is wrapped by the errors of a closed Manager or Netlink.
	// It is [net.ErrClosed], as in the other packages of the suite.
	ErrClosed = net.ErrClosed
)

type notSupported struct{}

func (notSupported) Error() string { return "not supported" }
func (notSupported) Unwrap() error { return errors.ErrUnsupported }

// wrapError is "ipvs: context: err", with err's own "ipvs: " prefix
// dropped, so that the package name appears once.
type wrapError struct {
	context string
	err     error
}

func (e *wrapError) Error() string {
	return "ipvs: " + e.context + ": " + strings.TrimPrefix(e.err.Error(), "ipvs: ")
}

func (e *wrapError) Unwrap() error { return e.err }

// wrap returns err in the context described by format and args.
func wrap(err error, format string, args ...any) error {
	return &wrapError{context: fmt.Sprintf(format, args...), err: err}
}

// errManagerClosed is the ErrClosed error of a Manager.
var errManagerClosed = fmt.Errorf("ipvs: manager closed: %w", ErrClosed)

// OpError is the error of a failed kernel operation.
type OpError struct {
	Op  Op
	Err error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("ipvs: %s: %s", e.Op, strings.TrimPrefix(e.Err.Error(), "ipvs: "))
}

// Unwrap returns the underlying error.
func (e *OpError) Unwrap() error { return e.Err }

// Role is a sync daemon's role.
type Role uint8

// Sync daemon roles (kernel IP_VS_STATE_*).
const (
	Master Role = 1
	Backup Role = 2
)

func (r Role) String() string {
	switch r {
	case Master:
		return "master"
	case Backup:
		return "backup"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// SyncDaemon is a kernel connection-synchronisation daemon (ipvsadm
// --start-daemon). A master sends connection state over multicast on
// Interface; a backup receives it. Tie it to VRRP state: master on MASTER,
// backup otherwise.
type SyncDaemon struct {
	Role      Role
	Interface string
	// SyncID tells apart the groups on one network (ipvsadm --syncid), 0..255.
	SyncID uint8
	// The optional fields keep the kernel's defaults when zero: maximum
	// message length, multicast group (224.0.0.81 or ff02::81), port 8848,
	// TTL 1.
	MaxLen uint16
	Group  netip.Addr
	Port   uint16
	TTL    uint8
}

// Validate checks d.
func (d SyncDaemon) Validate() error {
	var errs []error
	if d.Role != Master && d.Role != Backup {
		errs = append(errs, fmt.Errorf("role %v: want master or backup", d.Role))
	}
	if d.Interface == "" || len(d.Interface) > 15 {
		errs = append(errs, fmt.Errorf("interface %q: want a name of 1..15 bytes", d.Interface))
	}
	if d.Group.IsValid() && !d.Group.IsMulticast() {
		errs = append(errs, fmt.Errorf("group %v: want a multicast address", d.Group))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("ipvs: sync daemon: %w", errors.Join(errs...))
}
