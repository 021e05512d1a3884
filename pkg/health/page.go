package health

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
)

// The status page is public, like the health route, so it shows only what the health
// JSON already tells plus the shape of recent traffic: for each latest delivery its
// time, event type, action, status and attempts. Repository names (private for private
// repositories), installation ids, delivery ids and error texts stay behind the
// authenticated GET /webhooks/github/events.

// LatestOnPage is how many deliveries the status page lists.
const LatestOnPage = 15

// ChartHours is the span of the status page's chart.
const ChartHours = 24

type latestRow struct {
	Received string
	Ago      string
	Event    string
	Status   string
	Attempts int
	Took     string
}

type pageData struct {
	Report    Report
	Chart     chartView
	ChartOK   bool
	Latest    []latestRow
	LatestOK  bool
	HasEvents bool // the event log is configured
}

// Page renders the status page: the report, the 24-hour chart and the latest
// deliveries. Sources that cannot be read are shown as unavailable.
func (c *Checker) Page(ctx context.Context, window time.Duration) ([]byte, Report, error) {
	// The page reads the event log too, so it is cached whole rather than only its report.
	if p, ok := c.pages.get(window, c.cfg.Now()); ok {
		return p.body, p.report, nil
	}
	r := c.Check(ctx, window)
	data := pageData{Report: r, HasEvents: c.events != nil}
	if ch, err := c.Hourly(ctx, ChartHours); err != nil {
		c.cfg.Log.Error("status page: chart unavailable", "err", err)
	} else {
		data.Chart, data.ChartOK = newChartView(ch), true
	}
	if c.events != nil {
		callCtx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
		evs, err := c.events.LatestEvents(callCtx, LatestOnPage)
		cancel()
		if err != nil {
			c.cfg.Log.Error("status page: event log unavailable", "err", err)
		} else {
			data.Latest, data.LatestOK = latestRows(evs, r.CheckedAt), true
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, data); err != nil {
		return nil, r, fmt.Errorf("render status page: %w", err)
	}
	c.pages.put(window, cachedPage{body: buf.Bytes(), report: r}, r.CheckedAt)
	return buf.Bytes(), r, nil
}

func latestRows(evs []store.Event, now time.Time) []latestRow {
	rows := make([]latestRow, 0, len(evs))
	for _, e := range evs {
		ev := e.EventType
		if e.Action != "" {
			ev += "." + e.Action
		}
		row := latestRow{
			Received: e.ReceivedAt.UTC().Format("2006-01-02 15:04:05"),
			Ago:      ago(now.Sub(e.ReceivedAt)),
			Event:    ev,
			Status:   e.Status,
			Attempts: e.Attempts,
			Took:     "—",
		}
		if e.ProcessedAt != nil && !e.ProcessedAt.Before(e.ReceivedAt) {
			row.Took = took(e.ProcessedAt.Sub(e.ReceivedAt))
		}
		rows = append(rows, row)
	}
	return rows
}

func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days ago", int(d/(24*time.Hour)))
}

func took(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
	return fmtAge(int64(d / time.Second))
}

var pageFuncs = template.FuncMap{
	"count": func(n *int64) string {
		if n == nil {
			return "—"
		}
		return fmt.Sprint(*n)
	},
	// sum is the messages not yet done: waiting and in flight.
	"sum": func(a, b *int64) string {
		if a == nil || b == nil {
			return "—"
		}
		return fmt.Sprint(*a + *b)
	},
	"percent": func(r *float64) string {
		if r == nil {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", *r*100)
	},
	"age": func(n *int64) string {
		if n == nil {
			return "—"
		}
		return fmtAge(*n)
	},
	"when": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"since": func(t *time.Time, now time.Time) string {
		if t == nil {
			return "—"
		}
		return ago(now.Sub(*t))
	},
	"stamp": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"f":     func(v float64) string { return fmt.Sprintf("%.1f", v) },
}

var pageTemplate = template.Must(template.New("status").Funcs(pageFuncs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="60">
<title>RepoTrackr webhooks: {{.Report.Status}}</title>
<style>
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --card: #ffffff; --bg: #f3f4f6;
  --ok: #15803d; --ok-bg: #dcfce7; --warn: #b45309; --warn-bg: #fef3c7; --bad: #b91c1c; --bad-bg: #fee2e2; --blue: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: var(--bg); }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 40px; }
header { display: flex; align-items: center; gap: 16px; flex-wrap: wrap; margin-bottom: 20px; }
h1 { font-size: 22px; margin: 0; font-weight: 650; }
h2 { font-size: 16px; margin: 0 0 12px; font-weight: 650; }
.badge { display: inline-block; padding: 4px 12px; border-radius: 999px; font-weight: 700; font-size: 14px; text-transform: uppercase; letter-spacing: .04em; }
.badge.healthy { color: var(--ok); background: var(--ok-bg); }
.badge.degraded { color: var(--warn); background: var(--warn-bg); }
.badge.unhealthy { color: var(--bad); background: var(--bad-bg); }
.meta { color: var(--muted); font-size: 13px; margin-left: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; margin-bottom: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums; }
.card .value .sub { font-size: 15px; color: var(--muted); font-weight: 500; }
.card .value.small { font-size: 20px; }
.card .at { color: var(--muted); font-size: 11px; margin-top: 2px; }
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px; margin-bottom: 16px; }
ul.checks { list-style: none; margin: 0; padding: 0; display: grid; gap: 6px; }
ul.checks li { display: flex; gap: 10px; align-items: baseline; }
.dot { width: 10px; height: 10px; border-radius: 50%; display: inline-block; flex: none; transform: translateY(1px); }
.dot.ok { background: var(--ok); } .dot.warn, .dot.unknown { background: var(--warn); } .dot.fail { background: var(--bad); }
.check-name { font-weight: 600; min-width: 110px; }
.legend { display: flex; gap: 18px; font-size: 13px; color: var(--muted); margin-bottom: 6px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px; vertical-align: -1px; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .axis { fill: var(--muted); font-size: 11px; }
svg.chart .bar-deliveries, .swatch.deliveries { fill: var(--blue); background: var(--blue); }
svg.chart .bar-failures, .swatch.failures { fill: var(--bad); background: var(--bad); }
svg.chart .note { fill: var(--muted); font-size: 14px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line); }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
td.num { font-variant-numeric: tabular-nums; }
.status { font-weight: 600; }
.status.processed { color: var(--ok); } .status.failed { color: var(--bad); }
.status.ignored, .status.duplicate { color: var(--muted); } .status.queued, .status.processing { color: var(--blue); }
.unavailable { color: var(--warn); }
footer { color: var(--muted); font-size: 12px; }
</style>
</head>
<body>
<main>
<header>
  <h1>RepoTrackr webhook pipeline</h1>
  <span class="badge {{.Report.Status}}" id="status">{{.Report.Status}}</span>
  <span class="meta">window {{.Report.Window}} · checked {{stamp .Report.CheckedAt}}</span>
</header>

<div class="cards">
  <div class="card"><div class="label">Success rate</div><div class="value" id="success-rate">{{percent .Report.SuccessRate}}</div></div>
  <div class="card"><div class="label">Events ({{.Report.Window}})</div><div class="value" id="total-events">{{count .Report.TotalEvents}}</div></div>
  <div class="card"><div class="label">Failed</div><div class="value" id="failed-events">{{count .Report.FailedEvents}}</div></div>
  <div class="card"><div class="label">Rejected</div><div class="value" id="rejected">{{count .Report.RejectedDeliveries}}</div></div>
  <div class="card"><div class="label">Dead-letter queue</div><div class="value" id="dlq-depth">{{count .Report.DLQDepth}}</div></div>
  <div class="card"><div class="label">Queue · oldest</div><div class="value" id="queue">{{sum .Report.QueueDepth .Report.QueueInFlight}} <span class="sub">· {{age .Report.OldestMessageAgeSeconds}}</span></div></div>
  <div class="card"><div class="label">Last event</div><div class="value small">{{since .Report.LastEventAt .Report.CheckedAt}}</div><div class="at" id="last-event">{{when .Report.LastEventAt}}</div></div>
</div>

<section class="panel">
  <h2>Checks</h2>
  <ul class="checks">
  {{- range .Report.Checks}}
    <li><span class="dot {{.Status}}" title="{{.Status}}"></span><span class="check-name">{{.Name}}</span><span>{{.Detail}}</span></li>
  {{- end}}
  </ul>
</section>

<section class="panel">
  <h2>Deliveries and failures per hour, last 24 hours (UTC)</h2>
  {{- if .ChartOK}}
  <div class="legend"><span><span class="swatch deliveries"></span>deliveries received ({{.Chart.TotalDeliveries}})</span><span><span class="swatch failures"></span>processing failures ({{.Chart.TotalFailures}})</span></div>
  <svg class="chart" viewBox="0 0 {{.Chart.Width}} {{.Chart.Height}}" role="img" aria-labelledby="chart-title">
    <title id="chart-title">{{.Chart.TotalDeliveries}} deliveries and {{.Chart.TotalFailures}} failures in the last 24 hours</title>
    {{- range .Chart.Ticks}}
    <line class="grid" x1="{{$.Chart.PlotX}}" x2="{{$.Chart.Width}}" y1="{{f .Y}}" y2="{{f .Y}}"/>
    <text class="axis" x="{{$.Chart.PlotX}}" dx="-6" y="{{f .Y}}" dy="4" text-anchor="end">{{.Label}}</text>
    {{- end}}
    {{- range .Chart.Bars}}
    <rect class="{{.Class}}" x="{{f .X}}" y="{{f .Y}}" width="{{f .W}}" height="{{f .H}}" rx="2"><title>{{.Title}}</title></rect>
    {{- end}}
    {{- range .Chart.Labels}}
    <text class="axis" x="{{f .X}}" y="{{$.Chart.Height}}" dy="-12" text-anchor="middle">{{.Label}}</text>
    {{- end}}
    {{- if .Chart.Empty}}
    <text class="note" x="{{$.Chart.Width}}" dx="-460" y="110" text-anchor="middle">No deliveries in the last 24 hours</text>
    {{- end}}
  </svg>
  {{- else}}
  <p class="unavailable" id="chart-unavailable">The metrics could not be read; the chart is unavailable.</p>
  {{- end}}
</section>

{{- if .HasEvents}}
<section class="panel">
  <h2>Latest deliveries</h2>
  {{- if not .LatestOK}}
  <p class="unavailable">The event log could not be read.</p>
  {{- else if not .Latest}}
  <p>No deliveries recorded yet.</p>
  {{- else}}
  <table id="latest">
    <thead><tr><th>Received (UTC)</th><th></th><th>Event</th><th>Status</th><th>Attempts</th><th>Took</th></tr></thead>
    <tbody>
    {{- range .Latest}}
      <tr><td class="num">{{.Received}}</td><td>{{.Ago}}</td><td>{{.Event}}</td><td class="status {{.Status}}">{{.Status}}</td><td class="num">{{.Attempts}}</td><td class="num">{{.Took}}</td></tr>
    {{- end}}
    </tbody>
  </table>
  {{- end}}
</section>
{{- end}}

<footer>This page is public: it leaves out repository names, ids and error texts, which the authenticated delivery history (GET /webhooks/github/events) shows. JSON: GET /webhooks/github/health. The page refreshes every minute.</footer>
</main>
</body>
</html>
`))
