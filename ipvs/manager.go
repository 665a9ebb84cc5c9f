package ipvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Config configures a [Manager]. The zero value is usable.
type Config struct {
	// Logger receives operation logs; if nil, logs are discarded.
	Logger *slog.Logger
	// Removal is what happens to owned real servers and services that are
	// no longer desired; the zero value deletes them at once.
	Removal Removal
	// CallTimeout bounds every kernel call; if zero, 5 s.
	CallTimeout time.Duration
	// NetNS is the network namespace that Dial opens (a path such as
	// /run/netns/NAME); if empty, the calling thread's. New ignores it.
	NetNS string
	// Owned is what the manager starts out owning, such as Manager.Owned
	// saved by a previous run; the zero value owns nothing.
	Owned Owned
	// Adopt makes a service that Apply finds already in the kernel, and that
	// the desired state names, owned with all its real servers, as if Apply
	// had added them (keepalived's view of its configured virtual servers
	// after a restart). By default such services are updated but neither
	// they nor their other real servers are ever removed.
	Adopt bool
}

// Changes reports what an Apply did.
type Changes struct {
	// Ops are the operations that succeeded, in order.
	Ops []Op
}

// Count returns how many operations of kind k succeeded.
func (c Changes) Count(k OpKind) int {
	n := 0
	for _, op := range c.Ops {
		if op.Kind == k {
			n++
		}
	}
	return n
}

// Manager reconciles a [Kernel] towards desired states and remembers what
// it created, so that it removes only that. It is safe for concurrent use;
// calls are serialized.
type Manager struct {
	k       Kernel
	closer  io.Closer // closed by Close when the manager opened k
	removal Removal
	timeout time.Duration
	adopt   bool
	log     *slog.Logger

	mu     sync.Mutex
	owned  Owned
	closed bool
}

// New returns a manager of k. The manager does not close k.
func New(cfg Config, k Kernel) (*Manager, error) {
	if k == nil {
		return nil, errors.New("ipvs: nil kernel")
	}
	if cfg.Removal != Delete && cfg.Removal != Drain {
		return nil, fmt.Errorf("ipvs: removal policy %d unknown", cfg.Removal)
	}
	if cfg.CallTimeout < 0 {
		return nil, fmt.Errorf("ipvs: call timeout %v is negative", cfg.CallTimeout)
	}
	m := &Manager{k: k, removal: cfg.Removal, timeout: cfg.CallTimeout, adopt: cfg.Adopt, log: cfg.Logger}
	if m.timeout == 0 {
		m.timeout = 5 * time.Second
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	m.owned = cfg.Owned.Clone()
	return m, nil
}

func (m *Manager) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, m.timeout)
}

// Apply makes the kernel match desired: it reads the kernel, plans with
// [Plan] and performs the operations, stopping at the first error. Changes
// lists the operations that succeeded, also on error. Services and real
// servers it adds become owned; the others it only updates when desired
// names them, and never removes.
func (m *Manager) Apply(ctx context.Context, desired State) (Changes, error) {
	if err := desired.Validate(); err != nil {
		return Changes{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Changes{}, errManagerClosed
	}
	cur, err := m.state(ctx)
	if err != nil {
		return Changes{}, err
	}
	m.prune(cur)
	if m.adopt {
		m.adoptFrom(cur, desired)
	}
	ops := Plan(cur, desired, m.owned, PlanOptions{Removal: m.removal})
	return m.exec(ctx, ops)
}

// adoptFrom owns the services desired names and cur already has, with all
// their real servers.
func (m *Manager) adoptFrom(cur, desired State) {
	have := make(map[ServiceKey]*Service, len(cur.Services))
	for i := range cur.Services {
		have[cur.Services[i].Key] = &cur.Services[i]
	}
	for _, d := range desired.Services {
		c := have[d.Key]
		if c == nil {
			continue
		}
		m.owned.Services[d.Key] = true
		for _, cd := range c.Destinations {
			m.owned.Destinations[DestinationKey{d.Key, cd.Addr}] = true
		}
	}
}

func (m *Manager) state(ctx context.Context) (State, error) {
	cctx, cancel := m.callCtx(ctx)
	defer cancel()
	st, err := m.k.State(cctx)
	if err != nil {
		return State{}, wrap(err, "read kernel state")
	}
	return st, nil
}

// prune forgets owned objects that someone else removed.
func (m *Manager) prune(cur State) {
	present := make(map[DestinationKey]bool)
	svcs := make(map[ServiceKey]bool, len(cur.Services))
	for _, s := range cur.Services {
		svcs[s.Key] = true
		for _, d := range s.Destinations {
			present[DestinationKey{s.Key, d.Addr}] = true
		}
	}
	for k := range m.owned.Services {
		if !svcs[k] {
			delete(m.owned.Services, k)
		}
	}
	for k := range m.owned.Destinations {
		if !present[k] {
			delete(m.owned.Destinations, k)
		}
	}
}

// batchKernel is a Kernel that runs many operations in one call, with a
// bound on each ([Netlink.ExecAll]).
type batchKernel interface {
	ExecAll(ctx context.Context, ops []Op, perOp time.Duration) (int, error)
}

// exec performs ops, stopping at the first error, and tracks what
// succeeded.
func (m *Manager) exec(ctx context.Context, ops []Op) (Changes, error) {
	n, err := m.execN(ctx, ops)
	var ch Changes
	if n > 0 {
		ch.Ops = ops[:n:n]
	}
	for _, op := range ch.Ops {
		m.owned.Track(op)
	}
	if err != nil {
		var oe *OpError
		if !errors.As(err, &oe) && n < len(ops) {
			err = &OpError{Op: ops[n], Err: err}
		}
		m.log.Warn("ipvs operation failed", "err", err)
		return ch, err
	}
	if n > 0 {
		m.log.Info("ipvs reconciled", "ops", n)
	}
	return ch, nil
}

// execN performs ops in order, in one batch when the kernel can, each
// bounded by the call timeout, and returns how many succeeded.
func (m *Manager) execN(ctx context.Context, ops []Op) (int, error) {
	if bk, ok := m.k.(batchKernel); ok && len(ops) > 1 {
		return bk.ExecAll(ctx, ops, m.timeout)
	}
	for i, op := range ops {
		cctx, cancel := m.callCtx(ctx)
		err := m.k.Exec(cctx, op)
		cancel()
		if err != nil {
			return i, err
		}
		m.log.Debug("ipvs operation", "op", op.String())
	}
	return len(ops), nil
}

// Owned returns a copy of what the manager created and still owns.
func (m *Manager) Owned() Owned {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.owned.Clone()
}

// State reads the kernel: services, real servers, connection counters and
// statistics (ipvsadm -Ln --stats).
func (m *Manager) State(ctx context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return State{}, errManagerClosed
	}
	return m.state(ctx)
}

// call runs fn with a context bounded by the call timeout, serialized
// with the manager's other calls, unless the manager is closed.
func (m *Manager) call(ctx context.Context, fn func(context.Context) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errManagerClosed
	}
	cctx, cancel := m.callCtx(ctx)
	defer cancel()
	return fn(cctx)
}

// Zero clears the statistics of service k, or of every service when k is
// the zero key.
func (m *Manager) Zero(ctx context.Context, k ServiceKey) error {
	return m.call(ctx, func(ctx context.Context) error { return m.k.Zero(ctx, k) })
}

// StartSyncDaemon starts a connection-sync daemon.
func (m *Manager) StartSyncDaemon(ctx context.Context, d SyncDaemon) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return m.call(ctx, func(ctx context.Context) error { return m.k.StartDaemon(ctx, d) })
}

// StopSyncDaemon stops the sync daemon of role r.
func (m *Manager) StopSyncDaemon(ctx context.Context, r Role) error {
	return m.call(ctx, func(ctx context.Context) error { return m.k.StopDaemon(ctx, r) })
}

// SyncDaemons returns the running sync daemons.
func (m *Manager) SyncDaemons(ctx context.Context) ([]SyncDaemon, error) {
	var ds []SyncDaemon
	err := m.call(ctx, func(ctx context.Context) (err error) {
		ds, err = m.k.Daemons(ctx)
		return err
	})
	return ds, err
}

// Stop removes every service and real server the manager created (at once,
// whatever the removal policy), leaves everything else as it is, and closes
// the manager. Real servers it added to services it did not create are
// removed; such services stay.
func (m *Manager) Stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errManagerClosed
	}
	m.closed = true
	err := m.removeOwned(ctx)
	if m.closer != nil {
		err = errors.Join(err, m.closer.Close())
	}
	return err
}

func (m *Manager) removeOwned(ctx context.Context) error {
	cur, err := m.state(ctx)
	if err != nil {
		return err
	}
	m.prune(cur)
	_, err = m.exec(ctx, Plan(cur, State{}, m.owned, PlanOptions{Removal: Delete}))
	return err
}

// Close is Stop with a 10 s deadline. It is idempotent: later calls return
// ErrClosed.
func (m *Manager) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return m.Stop(ctx)
}
