package main

import (
	"context"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/internal/config"
)

// This file owns the bfd_instance blocks at run time: one bfd.Mux on the
// system's BFD transport, restarted when the blocks change, whose session
// changes are posted to the daemon's loop and fanned out to the
// instances that track_bfd them (track.go). It belongs to the loop.

// bfdRun is the running BFD part.
type bfdRun struct {
	cfg    []config.BFDInstance // positions cleared, for reload comparison
	mux    *bfd.Mux
	cancel context.CancelFunc
	done   chan struct{}
	names  map[uint32]string // discriminator → bfd_instance name
	states map[string]bool   // bfd_instance name → up, once reported
}

// bfdSpec is the part of a configuration the BFD sessions depend on,
// compared with config.Equal (positions ignored).
func bfdSpec(c *config.Config) []config.BFDInstance {
	return c.BFDInstances
}

// applyBFD (re)starts the BFD sessions when their configuration changed.
// On the loop.
func (d *daemon) applyBFD(c *config.Config) {
	spec := bfdSpec(c)
	if d.bfd != nil && config.Equal(d.bfd.cfg, spec) {
		return
	}
	d.stopBFD()
	if len(spec) == 0 {
		return
	}
	tr, err := d.sys.listenBFD()
	if err != nil {
		d.log.Error("bfd: cannot listen; track_bfd objects stay up", "err", err)
		return
	}
	r := &bfdRun{cfg: spec, names: map[uint32]string{}, states: map[string]bool{}, done: make(chan struct{})}
	mux, err := bfd.NewMux(bfd.MuxConfig{
		Clock:  d.sys.clock,
		Logger: d.log.With("component", "bfd"),
		OnTransition: func(sc bfd.StateChange) {
			d.post(func() { d.bfdChange(r, sc) })
		},
	}, tr)
	if err != nil {
		tr.Close()
		d.log.Error("bfd: mux; track_bfd objects stay up", "err", err)
		return
	}
	r.mux = mux
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		_ = r.mux.Run(ctx)
	}()
	for _, b := range spec {
		mult := b.Multiplier
		sc := bfd.SessionConfig{Peer: b.NeighborIP, Local: b.SourceIP, MultiHop: b.MaxHops > 0 && b.MaxHops < 255,
			Config: bfd.Config{DesiredMinTxInterval: b.MinTx, RequiredMinRxInterval: b.MinRx,
				DetectMultiplier: uint8(clamp(mult, 1, 255)), Passive: b.Passive}}
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		discr, err := r.mux.Add(actx, sc)
		acancel()
		if err != nil {
			d.log.Error("bfd_instance not started", "bfd", b.Name, "err", err)
			continue
		}
		r.names[discr] = b.Name
	}
	d.bfd = r
}

// bfdChange reports a session's state to the instances tracking it: Up
// is up; Down and AdminDown are down; Init changes nothing. On the loop.
func (d *daemon) bfdChange(r *bfdRun, sc bfd.StateChange) {
	var up bool
	switch sc.To {
	case bfd.StateUp:
		up = true
	case bfd.StateDown, bfd.StateAdminDown:
	default:
		return
	}
	name, ok := r.names[sc.Discriminator]
	if !ok || d.bfd != r {
		return
	}
	d.log.Info("bfd", "bfd", name, "peer", sc.Peer.String(), "state", sc.To.String(), "diag", sc.Diag.String())
	r.states[name] = up
	if s, ok := d.sources[sourceKey{key: trackKey{trackBFD, name}}]; ok {
		s.known, s.up = true, up
		d.fanOut(s, nil)
	}
}

// stopBFD ends the BFD sessions (AdminDown to every peer). On the loop;
// changes the mux reports meanwhile are dropped once d.bfd is no longer
// r.
func (d *daemon) stopBFD() {
	r := d.bfd
	if r == nil {
		return
	}
	d.bfd = nil
	r.cancel()
	<-r.done
}
