package web

import (
	"context"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"cheeseshop/internal/stats"
	"cheeseshop/internal/store"
)

// statsFigure is one of the public figures: its name (the JSON key, and
// the Prometheus gauge cheeseshop_<name>), what it counts, and its value.
type statsFigure struct {
	Name  string
	Help  string
	Label string // for people, on the page
	Value func(stats.Figures) int64
}

// statsFigures lists every figure, in the order of the page.
var statsFigures = []statsFigure{
	{"users", "Accounts that are not disabled.", "Users", func(f stats.Figures) int64 { return f.Users }},
	{"users_2fa", "Users with two-factor authentication: an authenticator app or a security key (recovery codes alone do not count).", "Users with 2FA", func(f stats.Figures) int64 { return f.Users2FA }},
	{"users_totp", "Users with an authenticator app (TOTP).", "… with an authenticator app", func(f stats.Figures) int64 { return f.UsersTOTP }},
	{"users_security_key", "Users with at least one security key (WebAuthn).", "… with a security key", func(f stats.Figures) int64 { return f.UsersSecurityKey }},
	{"critical_projects", "Projects designated critical.", "Critical projects", func(f stats.Figures) int64 { return f.CriticalProjects }},
	{"critical_users", "Distinct owners and maintainers of critical projects.", "Critical users", func(f stats.Figures) int64 { return f.CriticalUsers }},
	{"critical_users_2fa", "Owners and maintainers of critical projects with two-factor authentication.", "Critical users with 2FA", func(f stats.Figures) int64 { return f.CriticalUsers2FA }},
	{"projects_2fa_required", "Projects whose owners require two-factor authentication (opt-in).", "Projects that require 2FA (opt-in)", func(f stats.Figures) int64 { return f.Projects2FARequired }},
	{"promo_codes_claimed", "Security-key giveaway codes claimed.", "Security-key codes claimed", func(f stats.Figures) int64 { return f.PromoCodesClaimed }},
	{"promo_codes_left", "Security-key giveaway codes left in stock.", "Security-key codes left", func(f stats.Figures) int64 { return f.PromoCodesLeft }},
}

// statsCollector puts the live figures on /metrics: one read of the
// (cached) figures per scrape.
type statsCollector struct {
	svc  *stats.Service
	log  *slog.Logger
	desc []*prometheus.Desc
}

func (c *statsCollector) descs() []*prometheus.Desc {
	if c.desc == nil {
		for _, f := range statsFigures {
			c.desc = append(c.desc, prometheus.NewDesc("cheeseshop_"+f.Name, f.Help, nil, nil))
		}
	}
	return c.desc
}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector. When the figures cannot be
// read, they are left out of the scrape (and logged) rather than failing
// the other metrics.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	figs, _, err := c.svc.Live(ctx)
	if err != nil {
		c.log.Error("metrics: 2FA statistics", "err", err)
		return
	}
	for i, f := range statsFigures {
		ch <- prometheus.MustNewConstMetric(c.descs()[i], prometheus.GaugeValue, float64(f.Value(figs)))
	}
}

// statsDay is a snapshot in the JSON document.
type statsDay struct {
	Day string `json:"day"`
	stats.Figures
	TakenAt string `json:"taken_at"`
}

// statsDocument is /stats/2fa.json.
type statsDocument struct {
	Current stats.Figures `json:"current"`
	TakenAt string        `json:"taken_at"`
	History []statsDay    `json:"history"`
}

func (p *public) statsData(ctx context.Context) (stats.Figures, time.Time, []stats.Snapshot, error) {
	live, at, err := p.stats.Live(ctx)
	if err != nil {
		return live, at, nil, err
	}
	h, err := p.stats.History(ctx)
	return live, at, h, err
}

func (p *public) statsJSON(w http.ResponseWriter, r *http.Request) {
	live, at, h, err := p.statsData(r.Context())
	if err != nil {
		status := max(statusOf(err), http.StatusInternalServerError) // a read refuses nothing
		p.s.logFailure(r, "2FA statistics", status, err)
		setRetryAfter(w, status, err)
		writeJSON(w, status, map[string]string{"message": userMessage(err, status)})
		return
	}
	doc := statsDocument{Current: live, TakenAt: at.UTC().Format(time.RFC3339), History: make([]statsDay, 0, len(h))}
	for _, d := range h {
		doc.History = append(doc.History, statsDay{Day: d.Day.String(), Figures: d.Figures, TakenAt: d.TakenAt.UTC().Format(time.RFC3339)})
	}
	hdr := w.Header()
	if p.s.idx.ReadRequiresAuth() {
		// Only readers get here (the read gate): the reader's own, as
		// every read answer of such an index.
		hdr["Cache-Control"] = hdrStatsPrivate
		hdr["Vary"] = privateReads.docVary
	} else {
		hdr["Cache-Control"] = hdrStatsPublic
		hdr.Set("Access-Control-Allow-Origin", "*")
	}
	writeJSON(w, http.StatusOK, doc)
}

// Cache-Control of the statistics in JSON, as long as stats.Live keeps
// its figures (stats.DefaultTTL).
var (
	hdrStatsPublic  = []string{"public, max-age=30"}
	hdrStatsPrivate = []string{"private, max-age=30"}
)

// statsRow is a figure on the page.
type statsRow struct {
	Name, Label, Help string
	Value             int64
	Share             string // "42.1% of users", or ""
}

func percent(n, of int64, what string) string {
	if of == 0 {
		return ""
	}
	return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + "% of " + what
}

func (p *public) statsPage(w http.ResponseWriter, r *http.Request) {
	live, at, h, err := p.statsData(r.Context())
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	var rows []statsRow
	for _, f := range statsFigures {
		row := statsRow{Name: f.Name, Label: f.Label, Help: f.Help, Value: f.Value(live)}
		switch f.Name {
		case "users_2fa", "users_totp", "users_security_key":
			row.Share = percent(row.Value, live.Users, "users")
		case "critical_users_2fa":
			row.Share = percent(row.Value, live.CriticalUsers, "critical users")
		}
		rows = append(rows, row)
	}
	// The charts end with the live figures as today's.
	points := append([]stats.Snapshot(nil), h...)
	today := store.DayOf(at)
	if n := len(points); n > 0 && points[n-1].Day == today {
		if !points[n-1].TakenAt.After(at) { // a snapshot newer than the cache (another server) stays
			points[n-1].Figures = live
		}
	} else if n == 0 || points[n-1].Day < today {
		points = append(points, stats.Snapshot{Day: today, Figures: live, TakenAt: at})
	}
	val := func(get func(stats.Figures) int64) []float64 {
		out := make([]float64, len(points))
		for i, p := range points {
			out[i] = float64(get(p.Figures))
		}
		return out
	}
	days := make([]store.Day, len(points))
	for i, p := range points {
		days[i] = p.Day
	}
	charts := []template.HTML{
		lineChart("chart-users", "Users and two-factor authentication", days, []chartSeries{
			{"Users", "#5d6675", val(func(f stats.Figures) int64 { return f.Users })},
			{"With 2FA", "#1e7b34", val(func(f stats.Figures) int64 { return f.Users2FA })},
			{"Authenticator app", "#1a5fb4", val(func(f stats.Figures) int64 { return f.UsersTOTP })},
			{"Security key", "#c64600", val(func(f stats.Figures) int64 { return f.UsersSecurityKey })},
		}),
		lineChart("chart-critical", "Owners and maintainers of critical projects", days, []chartSeries{
			{"Critical users", "#5d6675", val(func(f stats.Figures) int64 { return f.CriticalUsers })},
			{"With 2FA", "#1e7b34", val(func(f stats.Figures) int64 { return f.CriticalUsers2FA })},
		}),
		lineChart("chart-projects", "Projects that require 2FA", days, []chartSeries{
			{"Critical projects", "#b3261e", val(func(f stats.Figures) int64 { return f.CriticalProjects })},
			{"Opted in", "#1a5fb4", val(func(f stats.Figures) int64 { return f.Projects2FARequired })},
		}),
		lineChart("chart-giveaway", "Security-key giveaway", days, []chartSeries{
			{"Codes claimed", "#1e7b34", val(func(f stats.Figures) int64 { return f.PromoCodesClaimed })},
			{"Codes left", "#8a5a00", val(func(f stats.Figures) int64 { return f.PromoCodesLeft })},
		}),
	}
	var first string
	if len(h) > 0 {
		first = h[0].Day.String()
	}
	p.s.render(w, r, http.StatusOK, "stats", "Two-factor authentication statistics", map[string]any{
		"Rows": rows, "TakenAt": at, "Charts": charts, "Days": len(h), "Since": first,
	})
}

// chartSeries is one line of a chart.
type chartSeries struct {
	Label  string
	Color  string // a CSS colour of the program's own, never user input
	Values []float64
}

// The geometry of a chart, in SVG user units.
const (
	chartW, chartH           = 720, 300
	chartLeft, chartRight    = 56, 16
	chartTop, chartBottom    = 16, 84 // below: the day labels and the legend
	chartPlotW, chartPlotH   = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
	chartTicks, chartXLabels = 4, 6
)

// niceStep returns the step of the y axis: a round number (1, 2, 2.5 or
// 5 × 10^k, at least 1) no less than max/chartTicks.
func niceStep(max float64) float64 {
	if max <= 0 {
		return 1
	}
	raw := max / chartTicks
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			step := m * p
			if step < 1 {
				return 1 // counts are whole numbers
			}
			return step
		}
	}
	return 10 * p
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// pt writes a coordinate with at most one decimal.
func pt(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// lineChart draws series over days as an inline SVG line chart: a y axis
// from 0 with round ticks, day labels, one polyline per series and a
// legend. Every text is escaped; the output is safe HTML.
func lineChart(id, title string, days []store.Day, series []chartSeries) template.HTML {
	esc := template.HTMLEscapeString
	var b strings.Builder
	max := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			max = math.Max(max, v)
		}
	}
	step := niceStep(max)
	top := math.Max(step, math.Ceil(max/step)*step)
	first, last := store.Day(0), store.Day(0)
	if len(days) > 0 {
		first, last = days[0], days[len(days)-1]
	}
	dayFormat := "Jan 2" // the year when the chart spans two
	if first.Time().Year() != last.Time().Year() || len(days) == 1 {
		dayFormat = "Jan 2, 2006"
	}
	x := func(d store.Day) float64 {
		if last == first {
			return chartLeft + chartPlotW/2
		}
		return chartLeft + float64(d-first)/float64(last-first)*chartPlotW
	}
	y := func(v float64) float64 { return chartTop + chartPlotH - v/top*chartPlotH }

	fmt.Fprintf(&b, `<figure class="chart" id="%s"><figcaption><strong>%s</strong></figcaption>`, esc(id), esc(title))
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-title" font-family="system-ui, sans-serif" font-size="12">`,
		chartW, chartH, esc(id))
	fmt.Fprintf(&b, `<title id="%s-title">%s</title>`, esc(id), esc(title))
	fmt.Fprintf(&b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, chartW, chartH)
	// The y axis: grid lines and their values.
	for i := 0; float64(i)*step <= top+step/2; i++ {
		v := float64(i) * step
		yy := pt(y(v))
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%s" y2="%s" stroke="%s" stroke-width="1"/>`, chartLeft, chartLeft+chartPlotW, yy, yy,
			map[bool]string{true: "#5d6675", false: "#dde1e7"}[i == 0])
		fmt.Fprintf(&b, `<text x="%d" y="%s" text-anchor="end" dominant-baseline="middle" fill="#5d6675">%s</text>`, chartLeft-6, yy, esc(num(v)))
	}
	// The x axis: up to chartXLabels days, evenly spread.
	if len(days) > 0 {
		span := int64(last - first)
		n := int64(chartXLabels - 1)
		if span < n {
			n = span
		}
		seen := map[store.Day]bool{}
		for i := int64(0); i <= n; i++ {
			d := first
			if n > 0 {
				d = first + store.Day(i*span/n)
			}
			if seen[d] {
				continue
			}
			seen[d] = true
			anchor := "middle"
			if n > 0 && i == 0 {
				anchor = "start"
			} else if n > 0 && i == n {
				anchor = "end"
			}
			xx := pt(x(d))
			fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="%d" y2="%d" stroke="#5d6675"/>`, xx, xx, chartTop+chartPlotH, chartTop+chartPlotH+4)
			fmt.Fprintf(&b, `<text x="%s" y="%d" text-anchor="%s" fill="#5d6675">%s</text>`, xx, chartTop+chartPlotH+18, anchor,
				esc(d.Time().Format(dayFormat)))
		}
	}
	// The lines; a lone point is a dot.
	for _, s := range series {
		var pts []string
		for i, v := range s.Values {
			if i < len(days) {
				pts = append(pts, pt(x(days[i]))+","+pt(y(v)))
			}
		}
		switch {
		case len(pts) == 1:
			xy := strings.SplitN(pts[0], ",", 2)
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="4" fill="%s"><title>%s</title></circle>`, xy[0], xy[1], esc(s.Color), esc(s.Label))
		case len(pts) > 1:
			fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" stroke-linejoin="round" stroke-linecap="round" points="%s"><title>%s</title></polyline>`,
				esc(s.Color), strings.Join(pts, " "), esc(s.Label))
		}
	}
	// The legend, with each series' latest value.
	lx := float64(chartLeft)
	ly := chartH - 24
	for _, s := range series {
		label := s.Label
		if n := len(s.Values); n > 0 {
			label += ": " + num(s.Values[n-1])
		}
		fmt.Fprintf(&b, `<rect x="%s" y="%d" width="14" height="4" fill="%s"/>`, pt(lx), ly-2, esc(s.Color))
		fmt.Fprintf(&b, `<text x="%s" y="%d" dominant-baseline="middle" fill="#1d2330">%s</text>`, pt(lx+20), ly, esc(label))
		lx += 20 + 7.2*float64(len([]rune(label))) + 24
	}
	b.WriteString(`</svg></figure>`)
	return template.HTML(b.String())
}
