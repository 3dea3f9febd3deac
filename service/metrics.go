package service

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the service's Prometheus metrics, on Config.Registry.
type metrics struct {
	submitted       prometheus.Counter
	completed       prometheus.Counter
	failed          *prometheus.CounterVec // by error kind
	duplicates      prometheus.Counter
	dropped         *prometheus.CounterVec // by reason
	publishFailures prometheus.Counter
	latency         prometheus.Histogram
	requests        *prometheus.CounterVec // by route and code
}

func newMetrics(reg prometheus.Registerer, endpointsOnline func() float64) (*metrics, error) {
	const ns = "funcx_service"
	m := &metrics{
		submitted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "tasks_submitted_total",
			Help: "Tasks stored and queued (an idempotent resubmission is not counted again)."}),
		completed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "tasks_completed_total",
			Help: "Tasks whose stored result is a success."}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "tasks_failed_total",
			Help: "Tasks whose stored result is a failure, by error kind."}, []string{"kind"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "duplicate_results_total",
			Help: "Results dropped because their task already had a terminal result."}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "dropped_results_total",
			Help: "Results dropped for other reasons: unknown_task (no such task), foreign_task (a task routed to another endpoint), " +
				"stale_registration (a task routed to another registration of the endpoint, or of a deleted one), not_terminal."}, []string{"reason"}),
		publishFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "publish_failures_total",
			Help: "Submissions the broker did not confirm (answered 503)."}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "task_latency_seconds",
			Help:    "Time from a task's submission to its result being stored.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12)}), // 1ms .. ~70min
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
	}
	online := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Name: "endpoints_online",
		Help: "Endpoints whose last heartbeat is recent (see Config.HeartbeatPeriod) and not a stop."}, endpointsOnline)
	for _, c := range []prometheus.Collector{m.submitted, m.completed, m.failed, m.duplicates, m.dropped,
		m.publishFailures, m.latency, m.requests, online} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
