// Package metrics holds the instance's Prometheus collectors: process figures
// (CPU, RSS, peak RSS, goroutines) and the counters and histograms of the paths
// users feel: requests, events published and delivered, live clients, outbox
// backlog. It has one registry per process; every instance in a process (tests
// start several) shares it, which is why the load tool reads it per process.
package metrics

import (
	"net/http"
	"os"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the process's registry; Handler serves it.
var Registry = prometheus.NewRegistry()

var (
	// Requests observes every non-streaming HTTP request by route pattern,
	// method and status class ("2xx", "4xx", ...).
	Requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "nodecommunity_http_request_duration_seconds",
		Help: "Time to answer HTTP requests (streams excluded), by route pattern, method and status class.",
		// Finer around 10–50 ms, where the dashboard's p99 target (20 ms) lies.
		Buckets: []float64{.0005, .001, .0025, .005, .01, .015, .02, .025, .03, .04, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route", "method", "code"})

	// EventsPublished counts events this instance published to the event stream.
	EventsPublished = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nodecommunity_events_published_total",
		Help: "Events this instance published to the cluster's event stream.",
	})
	// EventsDispatched counts events this instance's tail handed to its local streams.
	EventsDispatched = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nodecommunity_events_dispatched_total",
		Help: "Events read from the event stream and fanned out on this instance.",
	})
	// EventsDelivered counts events written to live clients (one per client per event).
	EventsDelivered = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nodecommunity_events_delivered_total",
		Help: "Events written to live (server-sent event) clients, one per client and event.",
	})
	// StreamClients is the number of open live streams.
	StreamClients = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "nodecommunity_stream_clients",
		Help: "Open server-sent event streams on this instance.",
	})
	// OutboxBacklog is the number of committed events not yet published.
	OutboxBacklog = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "nodecommunity_outbox_backlog",
		Help: "Committed events waiting in the outbox to be published (as last seen by this instance's relay).",
	})
	// PasswordChecks counts password hashes verified for sign-in (argon2id,
	// tens of milliseconds each): the work the sign-in limits exist to bound.
	PasswordChecks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "nodecommunity_password_checks_total",
		Help: "Password hashes this process verified for sign-in (attempts refused by the limits are not checked).",
	})
	// DeliveryLag observes the time from an event's commit to its dispatch on this instance.
	DeliveryLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "nodecommunity_event_dispatch_lag_seconds",
		Help:    "Time from an event's creation to its fan-out on this instance.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .02, .05, .1, .25, .5, 1, 5},
	})
)

// PeakRSSBytes is the process's peak resident set size (getrusage maxrss).
func PeakRSSBytes() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) * 1024 // Linux reports KiB
}

func init() {
	Registry.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nodecommunity_process_peak_rss_bytes",
			Help: "Peak resident set size of the process in bytes.",
		}, PeakRSSBytes),
		// The load tool groups targets by it: instances started in one process
		// (tests) share this registry, so their figures must not be added up.
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "nodecommunity_process_id",
			Help: "Operating-system process id of the instance, to tell instances sharing a process apart.",
		}, func() float64 { return float64(os.Getpid()) }),
		Requests, EventsPublished, EventsDispatched, EventsDelivered, StreamClients, OutboxBacklog, DeliveryLag,
		PasswordChecks,
	)
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{})
}
