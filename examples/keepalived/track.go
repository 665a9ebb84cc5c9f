package main

// This file owns tracking: the typed key of a tracked object (kind +
// name); the translation of an instance's track_* lines, united once with
// its sync group's, into one list of references; and the registry of
// sources — vrrp_script and track_file watches on the check.Monitor,
// interfaces and track_process polled through the system seam, BFD
// sessions — with the one fan-out that hands every change of a source to
// every instance tracking it. The registry belongs to the daemon's loop.

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/nux-root/keepalived-go/check"
	"github.com/nux-root/keepalived-go/internal/config"
	"github.com/nux-root/keepalived-go/vrrp"
)

// trackKind is the kind of a tracked object. The zero value is invalid.
type trackKind uint8

const (
	trackScript trackKind = iota + 1
	trackFile
	trackIface
	trackProcess
	trackBFD
)

var trackKindNames = [...]string{trackScript: "script", trackFile: "file", trackIface: "iface",
	trackProcess: "process", trackBFD: "bfd"}

// trackKey names a tracked object: one namespace per kind, so that a
// script and a file of the same name do not collide.
type trackKey struct {
	kind trackKind
	name string
}

// String is the tracked object's name in vrrp (vrrp.TrackedObject.Name).
func (k trackKey) String() string { return trackKindNames[k.kind] + ":" + k.name }

// trackRef is one object an instance tracks.
type trackRef struct {
	key     trackKey
	weight  int
	reverse bool
	// byPriority: a track_file with a weight moves the base priority by
	// its dynamic value (see instance.effectiveBase) instead of being a
	// vrrp tracked object. weight and reverse then configure its checker.
	byPriority bool
}

// sourceKey identifies a source: a track_file's checker depends on the
// weight the track line gives it, so the same file may be two sources.
type sourceKey struct {
	key     trackKey
	weight  int
	reverse bool
}

func (r trackRef) source() sourceKey {
	if r.key.kind == trackFile {
		return sourceKey{r.key, r.weight, r.reverse}
	}
	return sourceKey{key: r.key}
}

// instanceTracks lists what instance in tracks — its own track_* lines
// united with its sync group's, then its interface unless
// dont_track_primary — once per object, in a fixed order: scripts, files,
// processes, BFD sessions, interfaces. Unknown names are left out (the
// parser reports them).
func instanceTracks(c *config.Config, in *config.Instance) []trackRef {
	var out []trackRef
	seen := map[trackKey]bool{}
	add := func(r trackRef) {
		if seen[r.key] {
			return
		}
		seen[r.key] = true
		r.weight = clamp(r.weight, -254, 254)
		out = append(out, r)
	}
	sg, _ := c.SyncGroupOf(in.Name)
	union := func(own []config.Track, group func(*config.SyncGroup) []config.Track) []config.Track {
		if sg == nil {
			return own
		}
		return append(append([]config.Track(nil), own...), group(sg)...)
	}
	weighted := func(t config.Track, w int, rev bool) (int, bool) {
		if t.Weighted {
			return t.Weight, t.Reverse
		}
		return w, rev
	}
	for _, t := range union(in.TrackScripts, func(g *config.SyncGroup) []config.Track { return g.TrackScripts }) {
		if s, ok := c.Script(t.Name); ok {
			w, rev := weighted(t, s.Weight, s.Reverse)
			add(trackRef{key: trackKey{trackScript, t.Name}, weight: w, reverse: rev})
		}
	}
	for _, t := range union(in.TrackFiles, func(g *config.SyncGroup) []config.Track { return g.TrackFiles }) {
		if f, ok := c.TrackFile(t.Name); ok {
			w, rev := fileWeight(f, t)
			add(trackRef{key: trackKey{trackFile, t.Name}, weight: w, reverse: rev, byPriority: w != 0})
		}
	}
	for _, t := range union(in.TrackProcesses, func(g *config.SyncGroup) []config.Track { return g.TrackProcesses }) {
		if p, ok := c.TrackProcess(t.Name); ok {
			w, rev := weighted(t, p.Weight, p.Reverse)
			add(trackRef{key: trackKey{trackProcess, t.Name}, weight: w, reverse: rev})
		}
	}
	for _, t := range union(in.TrackBFDs, func(g *config.SyncGroup) []config.Track { return g.TrackBFDs }) {
		if b, ok := c.BFDInstance(t.Name); ok {
			w, rev := weighted(t, b.Weight, b.Reverse)
			add(trackRef{key: trackKey{trackBFD, t.Name}, weight: w, reverse: rev})
		}
	}
	if !in.DontTrackPrimary && in.Interface != "" {
		add(trackRef{key: trackKey{trackIface, in.Interface}})
	}
	for _, t := range union(in.TrackInterfaces, func(g *config.SyncGroup) []config.Track { return g.TrackInterfaces }) {
		w, _ := weighted(t, 0, false)
		add(trackRef{key: trackKey{trackIface, t.Name}, weight: w, reverse: t.Reverse})
	}
	return out
}

// trackedObjects lists the vrrp tracked objects of instance in: every
// tracked object except the weighted track_files (they move the base
// priority instead).
func trackedObjects(c *config.Config, in *config.Instance) []vrrp.TrackedObject {
	var out []vrrp.TrackedObject
	for _, r := range instanceTracks(c, in) {
		if r.byPriority {
			continue
		}
		o := vrrp.TrackedObject{Name: r.key.String(), Weight: r.weight, Reverse: r.reverse}
		if r.key.kind == trackFile {
			o.Weight, o.Reverse = 0, false
		}
		out = append(out, o)
	}
	return out
}

// fileWeight returns the weight and reverse flag that apply to a tracked
// file: the track line's, else the track_file block's.
func fileWeight(f *config.TrackFile, t config.Track) (int, bool) {
	if t.Weighted {
		return t.Weight, t.Reverse
	}
	return f.Weight, f.Reverse
}

// source is one tracked object's state, shared by every instance that
// tracks it.
type source struct {
	sk     sourceKey
	spec   any  // what the source was built from, compared on reload
	known  bool // up (and offset) hold a reported state
	up     bool
	offset int       // byPriority track_file: its dynamic weight while up
	remove func()    // its check.Monitor watch, if any
	proc   procState // track_process debouncing
}

// ensureSources creates the sources of refs that do not exist yet (or
// whose configuration changed) with their first state where it can be
// probed at once (interfaces, processes).
func (d *daemon) ensureSources(c *config.Config, refs []trackRef) {
	for _, r := range refs {
		sk := r.source()
		spec := d.sourceSpec(c, sk)
		if s, ok := d.sources[sk]; ok {
			if config.Equal(s.spec, spec) {
				continue
			}
			d.dropSource(s)
		}
		s := &source{sk: sk, spec: spec}
		d.sources[sk] = s
		switch sk.key.kind {
		case trackScript:
			d.watchScript(c, s)
		case trackFile:
			d.watchFile(c, s)
			d.probeFile(c, s)
		case trackIface:
			s.known, s.up = true, d.sys.linkUp(sk.key.name)
		case trackProcess:
			if tp, ok := c.TrackProcess(sk.key.name); ok {
				s.known, s.up = true, processUp(tp, countMatches(tp, d.sys.processes()))
				s.proc = procState{up: s.up}
			}
		case trackBFD:
			// Reported by the BFD mux (bfd.go); until then vrrp
			// objects are up.
			if d.bfd != nil {
				s.up, s.known = d.bfd.states[sk.key.name]
			}
		}
	}
}

// sourceSpec is the configuration a source is built from, for reload
// comparison with config.Equal (positions ignored).
func (d *daemon) sourceSpec(c *config.Config, sk sourceKey) any {
	switch sk.key.kind {
	case trackScript:
		if s, ok := c.Script(sk.key.name); ok {
			return [2]any{*s, c.Global.EnableScriptSecurity}
		}
	case trackFile:
		if f, ok := c.TrackFile(sk.key.name); ok {
			return *f
		}
	case trackProcess:
		if p, ok := c.TrackProcess(sk.key.name); ok {
			return *p
		}
	}
	return nil
}

// dropSource removes a source and its watch.
func (d *daemon) dropSource(s *source) {
	if s.remove != nil {
		s.remove()
	}
	delete(d.sources, s.sk)
}

// pruneSources drops the sources no running instance tracks any more.
func (d *daemon) pruneSources() {
	need := map[sourceKey]bool{}
	for _, i := range d.insts {
		for _, r := range i.tracks {
			need[r.source()] = true
		}
	}
	for sk, s := range d.sources {
		if !need[sk] {
			d.dropSource(s)
		}
	}
}

// dropAllSources drops every source (shutdown).
func (d *daemon) dropAllSources() {
	for _, s := range d.sources {
		d.dropSource(s)
	}
}

// watchScript adds the vrrp_script watch of s.
func (d *daemon) watchScript(c *config.Config, s *source) {
	name := s.sk.key.name
	sc, ok := c.Script(name)
	if !ok {
		return
	}
	args := config.SplitCommand(sc.Script)
	if len(args) == 0 {
		return
	}
	timeout := sc.Timeout
	if timeout <= 0 {
		timeout = sc.Interval
	}
	rm, err := d.mon.Add(check.Watch{
		Checker: &check.Script{Path: args[0], Args: args[1:], User: sc.User, Group: sc.Group,
			Security: c.Global.EnableScriptSecurity},
		Policy: check.Policy{Interval: sc.Interval, Timeout: timeout, Rise: sc.Rise, Fall: sc.Fall, Alpha: sc.InitFail},
		Name:   "vrrp_script " + name,
		OnTransition: func(tr check.Transition) {
			d.post(func() { d.scriptResult(s, tr) })
		},
	})
	if err != nil {
		d.log.Error("vrrp_script", "script", name, "err", err)
		return
	}
	s.remove = rm
}

// scriptResult is a vrrp_script transition, on the loop.
func (d *daemon) scriptResult(s *source, tr check.Transition) {
	if d.sources[s.sk] != s {
		return
	}
	up := tr.To == check.StateUp
	d.met.checkResult("vrrp_script", s.sk.key.name, up)
	s.known, s.up = true, up
	d.fanOut(s, func(i *instance) {
		if tr.Cause != check.CauseInitial || !up {
			i.log.Info("vrrp_script", "script", s.sk.key.name, "up", up, "cause", tr.Cause)
		}
	})
}

// watchFile adds the track_file watch of s.
func (d *daemon) watchFile(c *config.Config, s *source) {
	name := s.sk.key.name
	f, ok := c.TrackFile(name)
	if !ok {
		return
	}
	initTrackFile(f, d.log)
	rm, err := d.mon.Add(check.Watch{
		Checker: check.File{Path: f.File, Weight: s.sk.weight, Reverse: s.sk.reverse},
		Policy:  check.Policy{Interval: 500 * time.Millisecond, Timeout: time.Second},
		Name:    "track_file " + name,
		OnTransition: func(tr check.Transition) {
			d.post(func() { d.fileResult(s, tr) })
		},
	})
	if err != nil {
		d.log.Error("track_file", "file", name, "err", err)
		return
	}
	s.remove = rm
}

// probeFile reads a track_file once, so that instances start with its
// state (the watch's first result confirms it later).
func (d *daemon) probeFile(c *config.Config, s *source) {
	f, ok := c.TrackFile(s.sk.key.name)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w, dynamic, err := check.File{Path: f.File, Weight: s.sk.weight, Reverse: s.sk.reverse}.CheckWeight(ctx)
	s.known, s.up, s.offset = true, err == nil, 0
	if s.up && dynamic {
		s.offset = w
	}
}

// fileResult is a track_file transition, on the loop.
func (d *daemon) fileResult(s *source, tr check.Transition) {
	if d.sources[s.sk] != s {
		return
	}
	if tr.Cause == check.CauseInitial && s.known {
		// The probe read the file already; before the first check the
		// watch's initial state carries no weight.
		return
	}
	up := tr.To == check.StateUp
	d.met.checkResult("track_file", s.sk.key.name, up)
	s.known, s.up, s.offset = true, up, 0
	if up && tr.Dynamic {
		s.offset = tr.Weight
	}
	d.fanOut(s, nil)
}

// fanOut hands the state of s to every running instance that tracks it;
// logf, if set, logs the change for each of them first.
func (d *daemon) fanOut(s *source, logf func(*instance)) {
	for _, n := range d.instanceNames() {
		i := d.insts[n]
		for _, r := range i.tracks {
			if r.source() != s.sk {
				continue
			}
			if logf != nil {
				logf(i)
			}
			i.setSource(r, s)
		}
	}
}

// attachTracks gives a new or updated instance the known state of every
// source it tracks.
func (d *daemon) attachTracks(i *instance) {
	for _, r := range i.tracks {
		if s, ok := d.sources[r.source()]; ok && s.known {
			i.setSource(r, s)
		}
	}
}

// pollInterfaces follows the link state of the tracked interfaces.
func (d *daemon) pollInterfaces() {
	for _, s := range d.sources {
		if s.sk.key.kind != trackIface {
			continue
		}
		n := s.sk.key.name
		up := d.sys.linkUp(n)
		if s.known && s.up == up {
			continue
		}
		s.known, s.up = true, up
		d.fanOut(s, func(i *instance) {
			d.log.Info("tracked interface", "iface", n, "up", up, "instance", i.name)
		})
	}
}

// pollProcesses follows the tracked processes: procs is a scan of the
// process table taken at now.
func (d *daemon) pollProcesses(procs []procInfo, now time.Time) {
	for _, s := range d.sources {
		if s.sk.key.kind != trackProcess || d.cfg == nil {
			continue
		}
		tp, ok := d.cfg.TrackProcess(s.sk.key.name)
		if !ok {
			continue
		}
		n := countMatches(tp, procs)
		if !s.proc.step(tp, processUp(tp, n), now) {
			continue
		}
		s.known, s.up = true, s.proc.up
		d.fanOut(s, func(i *instance) {
			d.log.Info("tracked process", "process", tp.Name, "up", s.up, "count", n, "instance", i.name)
		})
	}
}

// tracksProcesses reports whether any source is a tracked process.
func (d *daemon) tracksProcesses() bool {
	for sk := range d.sources {
		if sk.key.kind == trackProcess {
			return true
		}
	}
	return false
}

// initTrackFile creates a track_file with its init value (init_file).
func initTrackFile(f *config.TrackFile, log *slog.Logger) {
	if !f.InitFile {
		return
	}
	if _, err := os.Stat(f.File); err == nil && !f.Overwrite {
		return
	}
	if err := os.WriteFile(f.File, []byte(strconv.Itoa(f.InitValue)+"\n"), 0o644); err != nil {
		log.Warn("track_file init_file", "file", f.File, "err", err)
	}
}
