package ipvs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Netlink is the Linux [Kernel]: the IPVS table of the network namespace
// it was opened in, over a generic netlink socket. Calls are serialized on
// the socket. Each runs on its own goroutine so that the caller returns as
// soon as its ctx is done, even when the kernel does not answer; the
// abandoned call gives up within recvSlice (an abandoned dump is first read
// to its end, for up to dumpDrainWait, unless the socket is closed).
type Netlink struct {
	fd     int
	family uint16
	seq    atomic.Uint32
	mu     sync.Mutex // one request on the socket at a time; guards buf
	buf    []byte
	life   sync.Mutex // orders closed before wg.Wait against wg.Add in start
	wg     sync.WaitGroup
	closed atomic.Bool
	once   sync.Once
}

var _ Kernel = (*Netlink)(nil)

// recvSlice bounds one blocking receive, so that abandoned calls notice
// cancellation and Close.
const recvSlice = 100 * time.Millisecond

// Open opens the IPVS table of the calling thread's network namespace. It
// fails, wrapping ErrNotSupported, when the kernel has no IPVS (the ip_vs
// module is not loaded); it never loads modules itself.
func Open(ctx context.Context) (*Netlink, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("ipvs: netlink socket: %w", err)
	}
	return setup(ctx, fd)
}

// OpenAt opens the IPVS table of the network namespace at path (such as
// /run/netns/NAME or /proc/PID/ns/net); an empty path means [Open]. The
// socket is made on a throwaway locked thread, so the caller's thread never
// changes namespace, and stays bound to that namespace.
func OpenAt(ctx context.Context, path string) (*Netlink, error) {
	if path == "" {
		return Open(ctx)
	}
	ns, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ipvs: network namespace: %w", err)
	}
	defer ns.Close()
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, fmt.Errorf("ipvs: current network namespace: %w", err)}
			return
		}
		defer orig.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- result{-1, fmt.Errorf("ipvs: enter network namespace %s: %w", path, err)}
			return
		}
		fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
		// Back to the original namespace; if that fails the thread stays
		// locked and the runtime ends it with this goroutine.
		if unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		if err != nil {
			err = fmt.Errorf("ipvs: netlink socket: %w", err)
		}
		ch <- result{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return setup(ctx, r.fd)
}

// setup configures and binds fd and resolves the IPVS family; it closes fd
// on failure.
func setup(ctx context.Context, fd int) (*Netlink, error) {
	k := &Netlink{fd: fd}
	tv := unix.NsecToTimeval(int64(recvSlice))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ipvs: netlink socket: %w", err)
	}
	tv = unix.NsecToTimeval(int64(5 * time.Second))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ipvs: netlink socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ipvs: netlink bind: %w", err)
	}
	fam, err := k.resolveFamily(ctx)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	k.family = fam
	return k, nil
}

// Dial opens the IPVS table of cfg.NetNS (empty: the calling thread's
// network namespace) and returns a Manager of it; the Manager's Close also
// closes the socket.
func Dial(ctx context.Context, cfg Config) (*Manager, error) {
	k, err := OpenAt(ctx, cfg.NetNS)
	if err != nil {
		return nil, err
	}
	m, err := New(cfg, k)
	if err != nil {
		k.Close()
		return nil, err
	}
	m.closer = k
	return m, nil
}

// Close closes the socket once abandoned calls have given up (within
// recvSlice, unless the kernel itself is stuck in one). It waits for that
// at most a second; past that the socket is closed when the last call
// ends. It is idempotent.
func (k *Netlink) Close() error {
	k.once.Do(func() {
		k.life.Lock()
		k.closed.Store(true)
		k.life.Unlock()
		done := make(chan struct{})
		go func() {
			k.wg.Wait()
			unix.Close(k.fd)
			close(done)
		}()
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	})
	return nil
}

const (
	genlIDCtrl         = 0x10
	ctrlCmdGetFamily   = 3
	ctrlAttrFamilyID   = 1
	ctrlAttrFamilyName = 2
)

func (k *Netlink) resolveFamily(ctx context.Context) (uint16, error) {
	body := attrs(nil).str(ctrlAttrFamilyName, "IPVS")
	msgs, err := k.do(ctx, genlIDCtrl, request{cmd: ctrlCmdGetFamily, body: body})
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, fmt.Errorf("ipvs: generic netlink family IPVS not found (ip_vs module not loaded?): %w", ErrNotSupported)
		}
		return 0, fmt.Errorf("ipvs: resolve generic netlink family: %w", err)
	}
	// The controller answers a non-dump request with one message.
	if len(msgs) == 0 {
		return 0, fmt.Errorf("ipvs: no answer from the generic netlink controller: %w", errMalformed)
	}
	id, err := nested(msgs[0], ctrlAttrFamilyID)
	if err != nil {
		return 0, fmt.Errorf("ipvs: resolve generic netlink family: %w", err)
	}
	return getU16(id)
}

// errSocketClosed is the ErrClosed error of a Netlink.
var errSocketClosed = fmt.Errorf("ipvs: netlink socket closed: %w", ErrClosed)

// start runs fn on its own goroutine, holding the socket, and returns the
// channel of its result. Under TCG a goroutine hand-off costs as much as a
// netlink round trip, so callers batch: one start per State or ExecAll,
// not per message.
func (k *Netlink) start(ctx context.Context, fn func() error) (<-chan error, error) {
	k.life.Lock()
	defer k.life.Unlock()
	if k.closed.Load() {
		return nil, errSocketClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ch := make(chan error, 1)
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		k.mu.Lock()
		defer k.mu.Unlock()
		ch <- fn()
	}()
	return ch, nil
}

// run calls fn through start and waits for it or ctx.
func (k *Netlink) run(ctx context.Context, fn func() error) error {
	ch, err := k.start(ctx, fn)
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs one request (see run).
func (k *Netlink) do(ctx context.Context, family uint16, req request) ([][]byte, error) {
	var msgs [][]byte
	err := k.run(ctx, func() error {
		var err error
		msgs, err = k.roundTrip(ctx, time.Time{}, family, req)
		return err
	})
	return msgs, err
}

// ExecAll performs ops in order on one goroutine and returns how many
// succeeded. It gives up, returning an error that wraps
// context.DeadlineExceeded, when one operation takes longer than perOp
// (zero: no bound), and returns at once when ctx ends; the operation in
// flight then may or may not have happened.
func (k *Netlink) ExecAll(ctx context.Context, ops []Op, perOp time.Duration) (int, error) {
	var n atomic.Int64
	var abandoned atomic.Bool
	ch, err := k.start(ctx, func() error {
		for i, op := range ops {
			if abandoned.Load() {
				return context.DeadlineExceeded
			}
			var deadline time.Time
			if perOp > 0 {
				deadline = time.Now().Add(perOp)
			}
			if err := k.exec(ctx, deadline, op); err != nil {
				return err
			}
			n.Store(int64(i + 1))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var tick <-chan time.Time
	if perOp > 0 {
		t := time.NewTicker(perOp)
		defer t.Stop()
		tick = t.C
	}
	last := int64(-1)
	for {
		select {
		case err := <-ch:
			return int(n.Load()), err
		case <-ctx.Done():
			abandoned.Store(true)
			return int(n.Load()), ctx.Err()
		case <-tick:
			cur := n.Load()
			if cur == last && int(cur) < len(ops) { // no progress for a whole period: stuck
				abandoned.Store(true)
				return int(cur), &OpError{Op: ops[cur], Err: context.DeadlineExceeded}
			}
			last = cur
		}
	}
}

const nlmsgHdrLen = 16

func (k *Netlink) roundTrip(ctx context.Context, deadline time.Time, family uint16, req request) ([][]byte, error) {
	var out [][]byte
	err := k.roundTripFunc(ctx, deadline, family, req, func(p []byte) error {
		out = append(out, append([]byte(nil), p...))
		return nil
	})
	return out, err
}

// roundTripFunc sends req and calls onMsg with each answer payload, which
// is valid only during the call.
func (k *Netlink) roundTripFunc(ctx context.Context, deadline time.Time, family uint16, req request, onMsg func([]byte) error) error {
	live := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if k.closed.Load() {
			return errSocketClosed
		}
		return nil
	}
	if err := live(); err != nil {
		return err
	}
	seq := k.seq.Add(1)
	flags := req.flags()
	msg := make([]byte, 0, nlmsgHdrLen+4+len(req.body))
	msg = ne.AppendUint32(msg, uint32(nlmsgHdrLen+4+len(req.body)))
	msg = ne.AppendUint16(msg, family)
	msg = ne.AppendUint16(msg, flags)
	msg = ne.AppendUint32(msg, seq)
	msg = ne.AppendUint32(msg, 0)
	msg = append(msg, req.cmd, genlVersion, 0, 0)
	msg = append(msg, req.body...)
	if err := unix.Sendto(k.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("netlink send: %w", err)
	}
	if k.buf == nil {
		k.buf = make([]byte, 1<<16)
	}
	// A payload that onMsg rejects does not end the exchange: the rest of
	// a dump must still be read, or the next dump would find it running.
	var cbErr error
	collect := func(p []byte) error {
		if cbErr == nil {
			cbErr = onMsg(p)
		}
		return nil
	}
	if err := k.receive(seq, deadline, live, collect); err != nil {
		if req.dump && ctx.Err() != nil {
			k.finishDump(seq)
		}
		return err
	}
	return cbErr
}

// receive reads the answer to seq, passing its payloads to onMsg, until the
// answer is complete or stop returns an error; deadline, if set, is checked
// when the socket is idle.
func (k *Netlink) receive(seq uint32, deadline time.Time, stop func() error, onMsg func([]byte) error) error {
	for {
		if err := stop(); err != nil {
			return err
		}
		n, _, err := unix.Recvfrom(k.fd, k.buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				if !deadline.IsZero() && time.Now().After(deadline) {
					return context.DeadlineExceeded
				}
				continue
			}
			return fmt.Errorf("netlink receive: %w", err)
		}
		if done, err := parseReplies(k.buf[:n], seq, onMsg); done || err != nil {
			return err
		}
	}
}

// dumpDrainWait bounds finishDump.
const dumpDrainWait = 5 * time.Second

// finishDump reads and drops the rest of an abandoned dump, for at most
// dumpDrainWait: while a dump runs on a socket, the kernel refuses the
// next one with EBUSY. The abandoned call's caller has already returned.
func (k *Netlink) finishDump(seq uint32) {
	end := time.Now().Add(dumpDrainWait)
	stop := func() error {
		if k.closed.Load() {
			return errSocketClosed
		}
		if time.Now().After(end) {
			return context.DeadlineExceeded
		}
		return nil
	}
	_ = k.receive(seq, time.Time{}, stop, func([]byte) error { return nil })
}

// parseReplies calls onMsg with the payloads of the messages for seq in b
// and reports whether the answer is complete.
func parseReplies(b []byte, seq uint32, onMsg func([]byte) error) (bool, error) {
	for len(b) >= nlmsgHdrLen {
		l := int(ne.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return false, fmt.Errorf("%w: netlink message length %d", errMalformed, l)
		}
		typ := ne.Uint16(b[4:])
		mseq := ne.Uint32(b[8:])
		payload := b[nlmsgHdrLen:l]
		b = b[min((l+3)&^3, len(b)):]
		if mseq != seq {
			continue // a late answer to an abandoned request
		}
		switch typ {
		case unix.NLMSG_DONE:
			return true, nil
		case unix.NLMSG_ERROR:
			if len(payload) < 4 {
				return false, fmt.Errorf("%w: short netlink error", errMalformed)
			}
			if e := int32(ne.Uint32(payload)); e != 0 {
				return false, unix.Errno(-e)
			}
			return true, nil
		case unix.NLMSG_NOOP:
			continue
		}
		// NLM_F_MULTI or not, the answer ends with DONE (dump) or the ACK.
		if err := onMsg(payload); err != nil {
			return false, err
		}
	}
	return false, nil
}

// errnoError is a kernel errno that also matches a package sentinel.
type errnoError struct {
	errno    unix.Errno
	sentinel error
}

func (e errnoError) Error() string        { return e.errno.Error() }
func (e errnoError) Unwrap() error        { return e.errno }
func (e errnoError) Is(target error) bool { return target == e.sentinel }

func classify(err error, noent, srch error) error {
	var en unix.Errno
	if !errors.As(err, &en) {
		return err
	}
	var s error
	switch en {
	case unix.EEXIST:
		s = ErrExist
	case unix.ESRCH:
		s = srch
	case unix.ENOENT:
		s = noent
	case unix.EINVAL, unix.ERANGE, unix.EAFNOSUPPORT, unix.EOPNOTSUPP:
		s = ErrInvalid
	default:
		return err
	}
	return errnoError{en, s}
}

// Exec implements [Kernel].
func (k *Netlink) Exec(ctx context.Context, op Op) error {
	return k.run(ctx, func() error { return k.exec(ctx, time.Time{}, op) })
}

// exec performs op; the caller holds the socket.
func (k *Netlink) exec(ctx context.Context, deadline time.Time, op Op) error {
	req, err := opRequest(op)
	if err != nil {
		return &OpError{Op: op, Err: err}
	}
	if _, err := k.roundTrip(ctx, deadline, k.family, req); err != nil {
		return opError(op, err)
	}
	return nil
}

// opError is the error of op from the kernel's errno: ENOENT means a
// missing real server for the operations on one, else a missing scheduler
// or persistence module.
func opError(op Op, err error) error {
	noent := ErrNoModule
	if op.Kind == UpdateDestination || op.Kind == DeleteDestination {
		noent = ErrNoDestination
	}
	return &OpError{Op: op, Err: classify(err, noent, ErrNoService)}
}

// State implements [Kernel]: one dump of the services, one dump of the
// real servers per service, and the timeouts, all on one goroutine.
func (k *Netlink) State(ctx context.Context) (State, error) {
	var st State
	err := k.run(ctx, func() error {
		var err error
		st, err = k.state(ctx)
		return err
	})
	return st, err
}

func (k *Netlink) state(ctx context.Context) (State, error) {
	var none time.Time
	var st State
	err := k.roundTripFunc(ctx, none, k.family, request{cmd: cmdGetService, dump: true}, func(m []byte) error {
		s, err := decodeService(m)
		if err == nil {
			st.Services = append(st.Services, s)
		}
		return err
	})
	if err != nil {
		return State{}, wrap(err, "list services")
	}
	for i := range st.Services {
		s := &st.Services[i]
		err := k.roundTripFunc(ctx, none, k.family, request{cmd: cmdGetDest, dump: true, body: encodeService(*s, false)}, func(m []byte) error {
			d, err := decodeDest(m, s.Key.Family)
			if err == nil {
				s.Destinations = append(s.Destinations, d)
			}
			return err
		})
		if err != nil {
			return State{}, wrap(err, "list real servers of %v", s.Key)
		}
	}
	msgs, err := k.roundTrip(ctx, none, k.family, request{cmd: cmdGetConfig})
	if err != nil {
		return State{}, wrap(err, "get timeouts")
	}
	if len(msgs) > 0 {
		t, err := decodeTimeouts(msgs[0])
		if err != nil {
			return State{}, wrap(err, "get timeouts")
		}
		st.Timeouts = &t
	}
	return st, nil
}

// Daemons implements [Kernel].
func (k *Netlink) Daemons(ctx context.Context) ([]SyncDaemon, error) {
	msgs, err := k.do(ctx, k.family, request{cmd: cmdGetDaemon, dump: true})
	if err != nil {
		return nil, wrap(err, "list sync daemons")
	}
	var out []SyncDaemon
	for _, m := range msgs {
		d, err := decodeDaemon(m)
		if err != nil {
			return nil, wrap(err, "list sync daemons")
		}
		out = append(out, d)
	}
	return out, nil
}

// StartDaemon implements [Kernel].
func (k *Netlink) StartDaemon(ctx context.Context, d SyncDaemon) error {
	if _, err := k.do(ctx, k.family, request{cmd: cmdNewDaemon, body: encodeDaemon(d)}); err != nil {
		return fmt.Errorf("ipvs: start %v sync daemon on %s: %w", d.Role, d.Interface, classify(err, ErrInvalid, ErrNoDaemon))
	}
	return nil
}

// stopAckWait is how long StopDaemon waits for the kernel's answer before
// it looks whether the daemon is gone.
const stopAckWait = time.Second

// StopDaemon implements [Kernel].
//
// When the kernel stops a sync thread that had not run yet, the handler
// returns EINTR and netlink sends no answer at all (netlink_rcv_skb skips
// the ACK on EINTR). So the request waits at most stopAckWait; then the
// daemon list tells whether the stop happened.
func (k *Netlink) StopDaemon(ctx context.Context, r Role) error {
	body := attrs(nil).put(attrDaemon, attrs(nil).u32(daemonState, uint32(r)))
	sub, cancel := context.WithTimeout(ctx, stopAckWait)
	_, err := k.do(sub, k.family, request{cmd: cmdDelDaemon, body: body})
	cancel()
	if err == nil {
		return nil
	}
	if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ipvs: stop %v sync daemon: %w", r, classify(err, ErrNoDaemon, ErrNoDaemon))
	}
	ds, derr := k.Daemons(ctx)
	if derr != nil {
		return wrap(derr, "stop %v sync daemon: no answer, then", r)
	}
	for _, d := range ds {
		if d.Role == r {
			return wrap(err, "stop %v sync daemon: no answer and still running", r)
		}
	}
	return nil
}

// Zero implements [Kernel].
func (k *Netlink) Zero(ctx context.Context, key ServiceKey) error {
	req := request{cmd: cmdZero}
	if key != (ServiceKey{}) {
		req.body = encodeService(Service{Key: key}, false)
	}
	if _, err := k.do(ctx, k.family, req); err != nil {
		return fmt.Errorf("ipvs: zero %v: %w", key, classify(err, ErrNoService, ErrNoService))
	}
	return nil
}
