// Package check provides health checkers (TCP, HTTP/HTTPS, SMTP, DNS, UDP,
// ICMP echo, script and file) and a scheduler with retries, rise and fall
// counts, as keepalived's checkers do.
//
// # Quick start
//
// Every checker implements [Checker]: Check(ctx) returns nil when the target
// is healthy and an error saying why it is not. The timeout is the context's
// deadline.
//
//	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
//	defer cancel()
//	err := (&check.HTTP{Addr: addr, Path: "/health", Digest: "…"}).Check(ctx)
//	if err != nil {
//		log.Print(check.ReasonOf(err), err) // e.g. "digest", a *check.DigestError
//	}
//
// The checkers and their keepalived counterparts: [TCP] (TCP_CHECK), [HTTP]
// (HTTP_GET, SSL_GET with a tls.Config; [SSL] builds it from keepalived's
// SSL {} block: CA verification and a client certificate), [TLS] (a TLS
// handshake),
// [SMTP] (SMTP_CHECK), [DNS]
// (DNS_CHECK, via github.com/miekg/dns), [UDP] (UDP_CHECK), [ICMP]
// (PING_CHECK), [Script] (MISC_CHECK and vrrp_script), [File] (FILE_CHECK
// and track_file) and [External] (a state set from outside, such as a BFD
// session for BFD_CHECK; a [Notifier], so a Monitor follows it at once). Script and File implement [WeightChecker] for dynamic
// weights. [All] combines checkers, as several url blocks of one HTTP_GET
// do.
//
// A [Monitor] runs many checks on schedule under a [Policy] (delay_loop,
// connect_timeout, retry, delay_before_retry, rise, fall, warmup, alpha) and
// reports a [Transition] with its cause and error on every state change.
// Watches whose checks have equal keys ([Keyer]) and equal policies share one
// check. The scheduling logic itself is the pure [Tracker], driven with
// explicit times.
//
// # Errors
//
// Checkers return *[Error] values carrying a [Reason] and wrapping the detail:
// *[StatusError], *[DigestError], *[AnswerError], *[ExitError],
// *[InsecureError], the sentinels [ErrTooLarge], [ErrMalformed],
// [ErrNoMatch], [ErrNoReply], [ErrPortUnreachable], [ErrInsecure], or the
// context's error on timeout.
//
// # Bounded reads
//
// Replies are read with bounded sizes (HTTP headers and bodies, SMTP lines
// and replies, one DNS message, one datagram) and within the context's
// deadline, so a hostile server — huge status lines, endless bodies, slow
// drips, garbage TLS, spoofed DNS replies — makes the check fail cleanly.
//
// # Concurrency
//
// Checkers are values safe for concurrent use, and so are [External]'s
// methods. A Monitor's methods (Add, the remove functions, Stats) are safe
// for concurrent use and may be called before, during and after Run. A
// Monitor owns one loop goroutine (Run); Watch.OnTransition runs on it,
// must return quickly, and may call Add, remove functions, Stats and
// External.Set (they take effect after the callback returns). Checks run
// on their own goroutines, bounded by MonitorConfig.MaxConcurrent, and all
// end when Run returns; Run may be called once. A [Tracker] is not safe for
// concurrent use.
//
// # Errors and conventions
//
// Every error starts with "check: " once. Configuration errors wrap
// [ErrInvalidConfig] and are reported by Validate, CompileRegex and
// SSL.TLSConfig before any check runs; what this OS lacks wraps
// [ErrNotSupported], which matches errors.ErrUnsupported; a stopped
// Monitor's errors wrap [ErrClosed], which is net.ErrClosed.
//
// # Testing
//
// The Tracker needs no clock; the Monitor takes a [Clock] and runs inside a
// testing/synctest bubble. The package's own tests run every checker against
// real servers on loopback: net/http and crypto/tls servers, dnsmasq,
// OpenSMTPD, scripts, the kernel's ICMP echo (raw sockets as root, ping
// sockets inside a network namespace).
//
// # Linux
//
// Interface binding (SO_BINDTODEVICE), scripts (process groups, credentials,
// script security) and ping sockets are Linux features; elsewhere they
// return [ErrNotSupported].
package check
