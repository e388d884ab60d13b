package web

import (
	"bufio"
	"net"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	// routes caches the metric children of each (route, method, status
	// class), so the hot path does one map lookup instead of hashing labels.
	routes sync.Map // routeKey → *routeMetrics

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	simple   *prometheus.CounterVec
	// simpleBy holds the children of simple by page and format, resolved
	// once: see simpleResponse.
	simpleBy [2][2]prometheus.Counter
	files    *prometheus.CounterVec
	// filesServed holds the children of files of a distribution and of
	// a metadata file sent (2xx), resolved once: see fileServed.
	filesServed [2]prometheus.Counter
	uploads     *prometheus.CounterVec
}

type routeKey struct {
	route, method string
	class         byte
}

type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// Pages of the simple API, as counted by simpleResponse.
const (
	simpleRootPage = iota
	simpleProjectPage
)

// simpleResponse returns the counter of simple API responses of a page
// (simpleRootPage or simpleProjectPage) in a format (a media type).
func (m *metrics) simpleResponse(page int, media string) prometheus.Counter {
	if media == mediaJSON {
		return m.simpleBy[page][1]
	}
	return m.simpleBy[page][0]
}

// fileServed returns the counter of files of a kind ("distribution" or
// "metadata") sent.
func (m *metrics) fileServed(kind string) prometheus.Counter {
	if kind == "metadata" {
		return m.filesServed[1]
	}
	return m.filesServed[0]
}

// route returns the metrics of a request's route, method and status.
func (m *metrics) route(route, method string, status int) *routeMetrics {
	k := routeKey{route, method, byte(status / 100)}
	if rm, ok := m.routes.Load(k); ok {
		return rm.(*routeMetrics)
	}
	rm := &routeMetrics{
		requests: m.requests.WithLabelValues(route, method, statusClass(status)),
		duration: m.duration.WithLabelValues(route),
	}
	// Only patterns of the mux and the methods they accept get here, so
	// the map stays small.
	actual, _ := m.routes.LoadOrStore(k, rm)
	return actual.(*routeMetrics)
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_http_requests_total", Help: "HTTP requests by route, method and status class.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cheeseshop_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		simple: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_simple_responses_total", Help: "Simple API responses by page (root, project) and format (json, html).",
		}, []string{"page", "format"}),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_file_responses_total", Help: "File responses by kind (distribution, metadata) and status.",
		}, []string{"kind", "status"}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cheeseshop_uploads_total", Help: "Uploads by result (created, existing, refused, error).",
		}, []string{"result"}),
	}
	for i, page := range []string{"root", "project"} {
		for j, format := range []string{"html", "json"} {
			m.simpleBy[i][j] = m.simple.WithLabelValues(page, format)
		}
	}
	m.filesServed = [2]prometheus.Counter{m.files.WithLabelValues("distribution", "2xx"), m.files.WithLabelValues("metadata", "2xx")}
	reg.MustRegister(m.requests, m.duration, m.simple, m.files, m.uploads,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// hijackWriter is a statusWriter that can be hijacked.
type hijackWriter struct{ *statusWriter }

func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.statusWriter.ResponseWriter).Hijack()
}

// hijackable exposes Hijack only when the underlying writer supports it.
func hijackable(sw *statusWriter) http.ResponseWriter {
	if _, ok := sw.ResponseWriter.(http.Hijacker); ok {
		return hijackWriter{sw}
	}
	return sw
}
