package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hrisbridge/hrisbridge/schema"
)

// metrics are the Prometheus series /metrics serves.
type metrics struct {
	reg        *prometheus.Registry
	runs       *prometheus.CounterVec
	files      *prometheus.CounterVec
	rows       *prometheus.CounterVec
	ingestSecs *prometheus.HistogramVec
	webhooks   *prometheus.CounterVec
	hooks      *prometheus.CounterVec
	api        *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hrisbridge_sync_runs_total",
			Help: "Finished sync runs by trigger (scheduled, window, window_close, catch_up, manual, replay, upload, webhook, cli) and status (succeeded, failed, retrying)."}, []string{"trigger", "status"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hrisbridge_files_total",
			Help: "Received files by layout (a layout name) and status (applied, applied_with_errors, rejected, held, duplicate)."}, []string{"layout", "status"}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hrisbridge_rows_total",
			Help: "Rows read by outcome: created, updated, unchanged, rejected."}, []string{"outcome"}),
		ingestSecs: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hrisbridge_ingest_duration_seconds",
			Help: "Time to ingest one file, by layout (a layout name).", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)}, []string{"layout"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hrisbridge_webhook_deliveries_total",
			Help: "Webhook delivery attempts by status (succeeded, failed)."}, []string{"status"}),
		hooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hrisbridge_provider_webhooks_total",
			Help: "Change notifications from HRIS providers by outcome (verified, refused: a bad signature)."}, []string{"outcome"}),
		api: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hrisbridge_api_request_duration_seconds",
			Help: "API latency by method, route (the OpenAPI path, e.g. /v1/files/{id}, or unmatched) and HTTP status code.", Buckets: prometheus.DefBuckets}, []string{"method", "route", "code"}),
	}
	m.reg.MustRegister(m.runs, m.files, m.rows, m.ingestSecs, m.webhooks, m.hooks, m.api,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

func (m *metrics) file(f schema.File, d time.Duration) {
	m.files.WithLabelValues(f.Layout, f.Status).Inc()
	m.ingestSecs.WithLabelValues(f.Layout).Observe(d.Seconds())
	if f.Status == schema.FileRejected {
		m.rows.WithLabelValues("rejected").Add(float64(f.Rows))
		return
	}
	m.rows.WithLabelValues("created").Add(float64(f.Created))
	m.rows.WithLabelValues("updated").Add(float64(f.Updated))
	m.rows.WithLabelValues("unchanged").Add(float64(f.Unchanged))
	m.rows.WithLabelValues("invalid").Add(float64(f.Invalid))
}

func (m *metrics) run(r schema.SyncRun) { m.runs.WithLabelValues(r.Trigger, r.Status).Inc() }

func (m *metrics) delivery(d schema.WebhookDelivery) { m.webhooks.WithLabelValues(d.Status).Inc() }

func (m *metrics) providerWebhook(verified bool) {
	outcome := "refused"
	if verified {
		outcome = "verified"
	}
	m.hooks.WithLabelValues(outcome).Inc()
}

func (m *metrics) request(method, route string, status int, d time.Duration) {
	m.api.WithLabelValues(method, route, strconv.Itoa(status)).Observe(d.Seconds())
}
