package main

// This file owns the daemon's Prometheus metrics: counters the daemon's
// parts increment, and a collector that reads the running instances'
// counters at scrape time from the list the daemon's loop publishes, so a
// scrape never waits for the loop.

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/nux-root/keepalived-go/vrrp"
)

// metrics are the daemon's Prometheus metrics, on a private registry.
// Every method is safe on a nil *metrics (metrics disabled) and on any
// goroutine.
type metrics struct {
	reg   *prometheus.Registry
	insts atomic.Pointer[[]instanceView]

	transitions *prometheus.CounterVec
	vipOps      *prometheus.CounterVec
	checks      *prometheus.CounterVec
	ipvsOps     *prometheus.CounterVec
	scripts     *prometheus.CounterVec
	reloads     *prometheus.CounterVec
	refused     prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.transitions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_vrrp_transitions_total", Help: "VRRP state transitions by instance and new state.",
	}, []string{"instance", "state"})
	m.vipOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_vip_operations_total", Help: "Virtual address, route and rule operations and announcements.",
	}, []string{"op", "result"})
	m.checks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_checker_transitions_total", Help: "Health checker state changes (vrrp_script, track_file, real server checkers).",
	}, []string{"kind", "name", "state"})
	m.ipvsOps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_ipvs_operations_total", Help: "IPVS operations performed by Apply, by kind.",
	}, []string{"op"})
	m.scripts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_notify_scripts_total", Help: "Notify scripts run, by kind and result.",
	}, []string{"what", "result"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "keepalived_reloads_total", Help: "Configuration reloads by result.",
	}, []string{"result"})
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{Name: "keepalived_go_config_reload_refused_total", Help: "Reloads refused because the file had errors or structural problems; the running configuration was kept."})
	m.reg.MustRegister(m.transitions, m.vipOps, m.checks, m.ipvsOps, m.scripts, m.reloads, m.refused, collector{m})
	return m
}

// serve serves /metrics on addr until the returned function is called.
func (m *metrics) serve(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics", "addr", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	}, nil
}

func result(err error) string {
	if err != nil {
		return "error"
	}
	return "ok"
}

func (m *metrics) transition(inst string, t vrrp.Transition) {
	if m != nil {
		m.transitions.WithLabelValues(inst, t.To.String()).Inc()
	}
}

func (m *metrics) vipOp(op string, err error) {
	if m != nil {
		m.vipOps.WithLabelValues(op, result(err)).Inc()
	}
}

func (m *metrics) checkResult(kind, name string, up bool) {
	if m != nil {
		s := "down"
		if up {
			s = "up"
		}
		m.checks.WithLabelValues(kind, name, s).Inc()
	}
}

func (m *metrics) ipvsOp(op string, n int) {
	if m != nil && n > 0 {
		m.ipvsOps.WithLabelValues(op).Add(float64(n))
	}
}

func (m *metrics) script(what string, ok bool) {
	if m != nil {
		r := "ok"
		if !ok {
			r = "error"
		}
		m.scripts.WithLabelValues(what, r).Inc()
	}
}

func (m *metrics) reload(ok bool) {
	if m != nil {
		r := "ok"
		if !ok {
			r = "error"
		}
		m.reloads.WithLabelValues(r).Inc()
	}
}

// reloadRefused counts a reload refused because the file did not parse.
func (m *metrics) reloadRefused() {
	if m != nil {
		m.refused.Inc()
	}
}

// instanceView is what the collector reads of a running instance.
type instanceView struct {
	name, iface string
	inst        *vrrp.Instance
}

// publish replaces the running instances the collector reads.
func (m *metrics) publish(v []instanceView) {
	if m != nil {
		m.insts.Store(&v)
	}
}

// collector reads the instances' counters at scrape time.
type collector struct{ m *metrics }

var (
	descState    = prometheus.NewDesc("keepalived_vrrp_state", "VRRP state of an instance (0 init, 1 backup, 2 master, 3 fault, 4 stop).", []string{"instance", "vrid", "iface"}, nil)
	descPrio     = prometheus.NewDesc("keepalived_vrrp_priority", "Effective VRRP priority of an instance.", []string{"instance"}, nil)
	descSent     = prometheus.NewDesc("keepalived_vrrp_adverts_sent_total", "VRRP advertisements sent.", []string{"instance"}, nil)
	descRecv     = prometheus.NewDesc("keepalived_vrrp_adverts_received_total", "Valid VRRP advertisements received.", []string{"instance"}, nil)
	descDrops    = prometheus.NewDesc("keepalived_vrrp_drops_total", "Received VRRP messages dropped, by reason.", []string{"instance", "reason"}, nil)
	descInstTr   = prometheus.NewDesc("keepalived_vrrp_instance_transitions_total", "State transitions counted by the instance.", []string{"instance"}, nil)
	descPrio0    = prometheus.NewDesc("keepalived_vrrp_priority_zero_sent_total", "Priority-0 advertisements sent.", []string{"instance"}, nil)
	descSendErrs = prometheus.NewDesc("keepalived_vrrp_send_errors_total", "Advertisement send errors.", []string{"instance"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descPrio, descSent, descRecv, descDrops, descInstTr, descPrio0, descSendErrs} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	p := c.m.insts.Load()
	if p == nil {
		return
	}
	for _, i := range *p {
		st := i.inst.Stats()
		n := i.name
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, float64(i.inst.State()), n, strconv.Itoa(int(i.inst.VRID())), i.iface)
		ch <- prometheus.MustNewConstMetric(descPrio, prometheus.GaugeValue, float64(i.inst.Priority()), n)
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(st.AdvertsSent), n)
		ch <- prometheus.MustNewConstMetric(descRecv, prometheus.CounterValue, float64(st.AdvertsReceived), n)
		ch <- prometheus.MustNewConstMetric(descInstTr, prometheus.CounterValue, float64(st.Transitions), n)
		ch <- prometheus.MustNewConstMetric(descPrio0, prometheus.CounterValue, float64(st.PriorityZeroSent), n)
		ch <- prometheus.MustNewConstMetric(descSendErrs, prometheus.CounterValue, float64(st.SendErrors), n)
		for r := 1; r < vrrp.NumDropReasons; r++ {
			ch <- prometheus.MustNewConstMetric(descDrops, prometheus.CounterValue, float64(st.Drops[r]), n, vrrp.DropReason(r).String())
		}
	}
}
