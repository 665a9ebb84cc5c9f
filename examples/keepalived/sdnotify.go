// sdnotify.go owns the daemon's messages to systemd (Type=notify in
// dist/keepalived-go.service): READY=1 once the configuration is applied,
// RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1 when it stops.

package main

import (
	"fmt"
	"log/slog"
	"os"
	"time"

	sddaemon "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// sdNotifier tells the service manager named by $NOTIFY_SOCKET where the
// daemon is; without the variable it does nothing. A failed message is
// logged, never fatal: the daemon runs the same with or without systemd.
type sdNotifier struct {
	log *slog.Logger
	now func() time.Duration // CLOCK_MONOTONIC, for RELOADING=1
}

func newSDNotifier(log *slog.Logger) *sdNotifier {
	return &sdNotifier{log: log, now: monotonic}
}

// monotonic is CLOCK_MONOTONIC, the clock systemd compares MONOTONIC_USEC with.
func monotonic() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// ready says the configuration is applied (at start and after a reload,
// refused or not: the daemon is running either way). status is shown by
// `systemctl status`.
func (n *sdNotifier) ready(status string) {
	n.send(fmt.Sprintf("READY=1\nSTATUS=%s\nMAINPID=%d", status, os.Getpid()))
}

// reloading says a reload has begun; ready must follow.
func (n *sdNotifier) reloading() {
	n.send(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", n.now().Microseconds()))
}

// stopping says the daemon is stopping.
func (n *sdNotifier) stopping() {
	n.send(sddaemon.SdNotifyStopping)
}

func (n *sdNotifier) send(state string) {
	// NOTIFY_SOCKET stays set: scripts the daemon runs inherit it, and the
	// unit's NotifyAccess=main makes systemd ignore anything they send.
	if _, err := sddaemon.SdNotify(false, state); err != nil {
		n.log.Warn("systemd notify", "state", state, "err", err)
	}
}
