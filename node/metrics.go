package node

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/skein-forum/skein/storage"
)

// Reasons an inbox POST is refused, the label values of
// skein_inbox_rejected_total. They follow the inbox's answer (see
// inboxReason): a fixed word per status, never anything from the request.
const (
	RejectSignature   = "signature"    // 401: missing, malformed or not verifying
	RejectBlocked     = "blocked"      // 403: the sender or its host is suspended, or not allowed
	RejectNoInbox     = "no_inbox"     // 404: no such member, forum or thread
	RejectUnavailable = "unavailable"  // 503: the node could not store it; the sender retries
	RejectMalformed   = "malformed"    // 400, 415: not an activity we can read
	RejectTooLarge    = "too_large"    // 413
	RejectRateLimited = "rate_limited" // 429: the host or actor sent more than its limit; the sender retries
)

// Host classes label deliveries (skein_deliveries_total): a small fixed
// set such as the peer's software, never the host itself, which would
// grow without bound.
const HostClassOther = "other"

// Queues whose depth skein_queue_depth reports.
const (
	QueueDelivery = "delivery"
	QueueInbox    = "inbox"
	QueueMail     = "mail"
)

// Metrics holds the node's Prometheus metrics. The HTTP figures and the
// database pool figures fill themselves; federation reports its own
// through the methods (they are safe for concurrent use and cheap), for
// example by holding the node's Metrics or a func field set to
// m.InboxRejected.
type Metrics struct {
	registry   *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inboxOK    prometheus.Counter
	inboxNo    *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	queueDepth *prometheus.GaugeVec
	mail       *prometheus.CounterVec
}

// NewMetrics registers every metric, with the store's connection pools.
func NewMetrics(store *storage.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skein_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status class.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "skein_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		inboxOK: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "skein_inbox_accepted_total",
			Help: "Activities accepted at the inbox.",
		}),
		inboxNo: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skein_inbox_rejected_total",
			Help: "Activities refused at the inbox, by reason.",
		}, []string{"reason"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skein_deliveries_total",
			Help: "Delivery attempts by result (sent, failed, retrying) and host class.",
		}, []string{"result", "host_class"}),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "skein_queue_depth",
			Help: "Jobs waiting, by queue (delivery, inbox, mail).",
		}, []string{"queue"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "skein_mail_total",
			Help: "Attempts to send mail by result (sent, failed, retrying) and kind of mail.",
		}, []string{"result", "kind"}),
	}
	m.registry.MustRegister(m.requests, m.latency, m.inboxOK, m.inboxNo, m.deliveries, m.queueDepth, m.mail,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Every series exists from the start, at zero, so dashboards and
	// alerts see the families before the first event.
	for _, reason := range []string{RejectSignature, RejectBlocked, RejectNoInbox, RejectUnavailable,
		RejectMalformed, RejectTooLarge, RejectRateLimited} {
		m.inboxNo.WithLabelValues(reason)
	}
	for _, result := range []string{"sent", "failed", "retrying"} {
		m.deliveries.WithLabelValues(result, HostClassOther)
	}
	m.queueDepth.WithLabelValues(QueueDelivery)
	m.queueDepth.WithLabelValues(QueueInbox)
	m.queueDepth.WithLabelValues(QueueMail)
	if store != nil {
		if store.ReadDB() == store.DB() {
			m.registry.MustRegister(collectors.NewDBStatsCollector(store.DB().DB, "main"))
		} else {
			m.registry.MustRegister(collectors.NewDBStatsCollector(store.DB().DB, "write"),
				collectors.NewDBStatsCollector(store.ReadDB().DB, "read"))
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Registry is where other parts may register metrics of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// InboxAccepted counts an activity the inbox took.
func (m *Metrics) InboxAccepted() { m.inboxOK.Inc() }

// InboxRejected counts an activity the inbox refused; reason is one of
// the Reject constants.
func (m *Metrics) InboxRejected(reason string) { m.inboxNo.WithLabelValues(reason).Inc() }

// DeliverySent counts a delivery the remote inbox accepted.
func (m *Metrics) DeliverySent(hostClass string) {
	m.deliveries.WithLabelValues("sent", hostClass).Inc()
}

// DeliveryFailed counts a delivery given up for good.
func (m *Metrics) DeliveryFailed(hostClass string) {
	m.deliveries.WithLabelValues("failed", hostClass).Inc()
}

// DeliveryRetrying counts a failed attempt that will be tried again.
func (m *Metrics) DeliveryRetrying(hostClass string) {
	m.deliveries.WithLabelValues("retrying", hostClass).Inc()
}

// MailAttempt counts one attempt to send a message of kind.
func (m *Metrics) MailAttempt(kind string, outcome storage.MailOutcome) {
	result := map[storage.MailOutcome]string{storage.MailSent: "sent", storage.MailFailed: "failed",
		storage.MailRetry: "retrying"}[outcome]
	if result != "" {
		m.mail.WithLabelValues(result, kind).Inc()
	}
}

// SetQueueDepth reports how many jobs wait in a queue (QueueDelivery,
// QueueInbox, QueueMail).
func (m *Metrics) SetQueueDepth(queue string, n int64) {
	m.queueDepth.WithLabelValues(queue).Set(float64(n))
}

// observe records one answered request. route is the mux pattern that
// served it ("GET /t/{id}"), so the label set stays small whatever the
// URLs.
func (m *Metrics) observe(route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status/100)+"xx").Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}
