package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"syscall"
	"time"
)

// DefaultUDPWait is how long UDP waits for a reply or an ICMP error when the
// context has no deadline.
const DefaultUDPWait = 2 * time.Second

// UDP is keepalived's UDP_CHECK: it sends Payload to Addr from a connected
// socket. An ICMP port unreachable (seen as ECONNREFUSED) means down. A reply
// means up (if Expect is set, the reply must begin with it; if
// MinReplyLength or MaxReplyLength are set, its length must be within them,
// else the check fails with [ReasonLength] and a *[LengthError]). When no reply
// arrives before the deadline, the check is up unless RequireReply is set:
// without a reply, the absence of an ICMP error is the only signal.
type UDP struct {
	// Addr is the target's address and port. Required.
	Addr netip.AddrPort
	// Payload is the datagram sent (payload). If empty, an empty datagram.
	Payload []byte
	// RequireReply makes the check fail when no reply arrives
	// (require_reply).
	RequireReply bool
	// Expect, if non-empty, is a prefix the reply must begin with.
	Expect []byte
	// MinReplyLength, if positive, is the shortest acceptable reply in
	// bytes (min_reply_length).
	MinReplyLength int
	// MaxReplyLength, if positive, is the longest acceptable reply in bytes
	// (max_reply_length). If zero, any length up to 65535.
	MaxReplyLength int
	// Wait bounds the wait when the context has no deadline. If zero,
	// DefaultUDPWait.
	Wait time.Duration
	// Bind and Interface select the local address and device, as in TCP.
	Bind      netip.AddrPort
	Interface string
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (u *UDP) Validate() error { return configError("udp", u.validate()) }

func (u *UDP) validate() error {
	if err := validAddrPort("address", u.Addr); err != nil {
		return err
	}
	if len(u.Payload) > 65507 {
		return fmt.Errorf("payload of %d bytes: %w", len(u.Payload), ErrInvalidConfig)
	}
	switch {
	case u.MinReplyLength < 0 || u.MaxReplyLength < 0 || u.MinReplyLength > maxDatagram || u.MaxReplyLength > maxDatagram:
		return fmt.Errorf("reply length bounds %d..%d outside 0..%d: %w", u.MinReplyLength, u.MaxReplyLength, maxDatagram, ErrInvalidConfig)
	case u.MaxReplyLength > 0 && u.MinReplyLength > u.MaxReplyLength:
		return fmt.Errorf("min_reply_length %d above max_reply_length %d: %w", u.MinReplyLength, u.MaxReplyLength, ErrInvalidConfig)
	case len(u.Expect) > 0 && u.MaxReplyLength > 0 && len(u.Expect) > u.MaxReplyLength:
		return fmt.Errorf("expected reply of %d bytes longer than max_reply_length %d: %w", len(u.Expect), u.MaxReplyLength, ErrInvalidConfig)
	}
	return nil
}

// maxDatagram is the largest UDP payload a reply can have.
const maxDatagram = 65535

type udpKey struct {
	addr, bind      netip.AddrPort
	payload, expect string
	require         bool
	wait            time.Duration
	iface           string
	minLen, maxLen  int
}

// CheckKey returns a comparable value naming every parameter of u.
func (u *UDP) CheckKey() any {
	return udpKey{u.Addr, u.Bind, string(u.Payload), string(u.Expect), u.RequireReply, u.Wait, u.Interface,
		u.MinReplyLength, u.MaxReplyLength}
}

// Check sends the datagram and waits for a reply or an error.
func (u *UDP) Check(ctx context.Context) error {
	target := u.Addr.String()
	if err := u.validate(); err != nil {
		return fail(ctx, "udp", target, ReasonConfig, err)
	}
	c, release, err := connect(ctx, "udp", target, u.Bind, u.Interface)
	if err != nil {
		return fail(ctx, "udp", target, ReasonConnect, err)
	}
	defer release()
	_ = c.SetDeadline(replyDeadline(ctx, u.Wait))
	if _, err := c.Write(u.Payload); err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return fail(ctx, "udp", target, ReasonUnreachable, fmt.Errorf("%w: %w", ErrPortUnreachable, err))
		}
		return fail(ctx, "udp", target, ReasonConnect, err)
	}
	buf := make([]byte, maxDatagram) // whole, so a LengthError has the true length
	n, err := c.Read(buf)
	switch {
	case err == nil:
		if n < u.MinReplyLength || u.MaxReplyLength > 0 && n > u.MaxReplyLength {
			return &Error{Check: "udp", Target: target, Reason: ReasonLength,
				Err: &LengthError{Len: n, Min: u.MinReplyLength, Max: u.MaxReplyLength}}
		}
		if len(u.Expect) > 0 && !bytes.HasPrefix(buf[:n], u.Expect) {
			return fail(ctx, "udp", target, ReasonProtocol, fmt.Errorf("reply %q does not begin with %q: %w", trunc(buf[:n]), trunc(u.Expect), ErrMalformed))
		}
		return nil
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(ctx, "udp", target, ReasonUnreachable, fmt.Errorf("%w: %w", ErrPortUnreachable, err))
	case errors.Is(err, os.ErrDeadlineExceeded):
		// Our read deadline (just before the context's) passed.
		if u.RequireReply {
			return &Error{Check: "udp", Target: target, Reason: ReasonNoReply, Err: ErrNoReply}
		}
		return nil
	}
	return fail(ctx, "udp", target, ReasonProtocol, err)
}

// replyDeadline returns when to stop waiting for a reply: a little before
// the context's deadline, so that "no reply" is told apart from the caller's
// timeout, or after wait (DefaultUDPWait if zero) without a deadline.
func replyDeadline(ctx context.Context, wait time.Duration) time.Time {
	dl, ok := ctx.Deadline()
	if !ok {
		if wait == 0 {
			wait = DefaultUDPWait
		}
		return time.Now().Add(wait)
	}
	if margin := time.Until(dl) / 20; margin > 0 {
		dl = dl.Add(-min(margin, 50*time.Millisecond))
	}
	return dl
}
