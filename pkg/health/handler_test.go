package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/store"
)

func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "health", name))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return req
}

// pageFixture is a pipeline with known numbers: 78 processed and 2 failed in the last
// hour, 2 rejected deliveries, 1 message in the DLQ, 3 in the queue (the oldest 125 s
// old), traffic over the last 24 hours and three recent deliveries, one of them failed
// with a private repository and error.
func pageFixture() (*fakeMetrics, *fakeQueues, *fakeEvents) {
	m := &fakeMetrics{series: map[string][]float64{
		idProcessed: {78}, idFailed: {2}, idReceived: {82}, idRejected: {2}, idSuccessRate: {0.975},
		"deliveries": {12, 30, 7, 0, 19}, "failures": {1, 0, 3, 0, 0},
	}}
	q := &fakeQueues{attrs: map[string][2]int{testDLQURL: {1, 0}, testQueueURL: {2, 1}}}
	m.series[idQueueAge] = []float64{125}
	processed := now.Add(-2*time.Minute + 1500*time.Millisecond)
	ev := &fakeEvents{events: []store.Event{
		{DeliveryID: "d3", EventType: "push", Repo: "secret-org/private-repo", Status: store.EventProcessed, ReceivedAt: now.Add(-2 * time.Minute), ProcessedAt: &processed, Attempts: 1},
		{DeliveryID: "d2", EventType: "issues", Action: "opened", Repo: "secret-org/private-repo", Status: store.EventFailed, Error: "token for installation 42 rejected", ReceivedAt: now.Add(-5 * time.Minute), Attempts: 3},
		{DeliveryID: "d1", EventType: "pull_request", Action: "closed", Repo: "octo/public", Status: store.EventIgnored, ReceivedAt: now.Add(-3 * time.Hour), Attempts: 1},
	}}
	return m, q, ev
}

func TestHandleRoutes(t *testing.T) {
	tests := []struct {
		name     string
		event    string
		dlq      int
		wantCode int
		wantType string
	}{
		{"health json", "health.json", 1, http.StatusOK, "application/json"},
		{"health window", "health-window.json", 1, http.StatusOK, "application/json"},
		{"health bad window", "health-bad-window.json", 1, http.StatusBadRequest, "application/json"},
		{"health in a browser", "health-browser.json", 1, http.StatusOK, "text/html; charset=utf-8"},
		{"status page", "status.json", 1, http.StatusOK, "text/html; charset=utf-8"},
		{"unhealthy health json", "health.json", 50, http.StatusServiceUnavailable, "application/json"},
		{"unhealthy health in a browser", "health-browser.json", 50, http.StatusServiceUnavailable, "text/html; charset=utf-8"},
		// The page itself answered: it shows the state rather than being it.
		{"unhealthy status page", "status.json", 50, http.StatusOK, "text/html; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, q, ev := pageFixture()
			q.attrs[testDLQURL] = [2]int{tt.dlq, 0}
			h := NewHandler(newTestChecker(m, q, ev), nil)
			resp, err := h.Handle(context.Background(), loadEvent(t, tt.event))
			if err != nil {
				t.Fatalf("Handle(%s) error = %v", tt.event, err)
			}
			if resp.StatusCode != tt.wantCode || resp.Headers["Content-Type"] != tt.wantType {
				t.Errorf("Handle(%s) = %d %s, want %d %s", tt.event, resp.StatusCode, resp.Headers["Content-Type"], tt.wantCode, tt.wantType)
			}
			if tt.wantType == "text/html; charset=utf-8" && !strings.Contains(resp.Headers["Content-Security-Policy"], "default-src 'none'") {
				t.Errorf("Handle(%s) CSP = %q, want default-src 'none'", tt.event, resp.Headers["Content-Security-Policy"])
			}
		})
	}
}

func TestHealthJSON(t *testing.T) {
	m, q, ev := pageFixture()
	h := NewHandler(newTestChecker(m, q, ev), nil)
	resp, _ := h.Handle(context.Background(), loadEvent(t, "health-window.json"))
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
		t.Fatalf("health body %q: %v", resp.Body, err)
	}
	want := map[string]any{
		"status": "degraded", "success_rate": 0.975, "total_events_last_hour": 80.0, "failed_events_last_hour": 2.0,
		"dlq_depth": 1.0, "rejected_deliveries": 2.0, "window": "6h", "last_event_at": now.Add(-2 * time.Minute).Format(time.RFC3339),
		"queue_depth": 2.0, "queue_in_flight": 1.0, "oldest_message_age_seconds": 125.0,
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("health %s = %v, want %v", k, body[k], v)
		}
	}
	if reasons, _ := body["reasons"].([]any); len(reasons) != 1 || reasons[0] != "1 message in the dead-letter queue" {
		t.Errorf("health reasons = %v, want the DLQ", body["reasons"])
	}
	if m.calls[0].EndTime.Sub(*m.calls[0].StartTime) != 6*time.Hour {
		t.Errorf("?window=6h read %s of metrics, want 6h", m.calls[0].EndTime.Sub(*m.calls[0].StartTime))
	}

	bad, _ := h.Handle(context.Background(), loadEvent(t, "health-bad-window.json"))
	if !strings.Contains(bad.Body, `"error":"window must be`) {
		t.Errorf("bad window body = %s, want the window error", bad.Body)
	}
}

func TestHandleRefusals(t *testing.T) {
	m, q, ev := pageFixture()
	h := NewHandler(newTestChecker(m, q, ev), nil)
	req := loadEvent(t, "health.json")
	req.RequestContext.HTTP.Method = http.MethodPost
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST health = %d, want 405", resp.StatusCode)
	}
	req = loadEvent(t, "health.json")
	req.RawPath = "/webhooks/github/other"
	if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET other = %d, want 404", resp.StatusCode)
	}
}

func TestStatusPage(t *testing.T) {
	m, q, ev := pageFixture()
	h := NewHandler(newTestChecker(m, q, ev), nil)
	resp, _ := h.Handle(context.Background(), loadEvent(t, "status.json"))
	page := resp.Body
	for _, want := range []string{
		`id="status">degraded<`,
		`id="success-rate">97.5%<`,
		`id="total-events">80<`,
		`id="failed-events">2<`,
		`id="rejected">2<`,
		`id="dlq-depth">1<`,
		`id="queue">3 <span class="sub">· 2m 5s</span>`,
		`id="last-event">2026-03-10 12:32:56 UTC<`,
		`1 message in the dead-letter queue`,
		`deliveries received (68)`,
		`processing failures (4)`,
		`<td>issues.opened</td><td class="status failed">failed</td><td class="num">3</td>`,
		`<td>push</td><td class="status processed">processed</td><td class="num">1</td><td class="num">1.5 s</td>`,
		`pull_request.closed`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	// Public page: nothing private.
	for _, leak := range []string{"secret-org", "private-repo", "octo/public", "token for installation", "d2", "installation 42"} {
		if strings.Contains(page, leak) {
			t.Errorf("status page shows %q, which is private", leak)
		}
	}
	if bars := len(regexp.MustCompile(`<rect class="bar-`).FindAllString(page, -1)); bars != 6 {
		t.Errorf("chart has %d bars, want 6 (4 hours with deliveries, 2 with failures)", bars)
	}
	if strings.Contains(page, "<script") {
		t.Errorf("status page has a script, want none")
	}
}

func TestStatusPageSourcesDown(t *testing.T) {
	m, q, _ := pageFixture()
	m.err = errors.New("cloudwatch down")
	h := NewHandler(newTestChecker(m, q, &fakeEvents{err: errors.New("dynamodb down")}), nil)
	resp, _ := h.Handle(context.Background(), loadEvent(t, "status.json"))
	for _, want := range []string{`id="status">degraded<`, `id="success-rate">—<`, `id="chart-unavailable"`, "The event log could not be read.", "CloudWatch metrics could not be read"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("status page with sources down lacks %q", want)
		}
	}
	if strings.Contains(resp.Body, "cloudwatch down") || strings.Contains(resp.Body, "dynamodb down") {
		t.Errorf("status page shows an internal error text")
	}
}

func TestPrefersHTML(t *testing.T) {
	tests := map[string]bool{
		"":                 false,
		"*/*":              false,
		"application/json": false,
		"text/html":        true,
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8": true,
		"application/json, text/html;q=0.5":                               false,
		"text/html;q=0":                                                   false,
	}
	for accept, want := range tests {
		if got := prefersHTML(accept); got != want {
			t.Errorf("prefersHTML(%q) = %v, want %v", accept, got, want)
		}
	}
}

func TestServeHTTP(t *testing.T) {
	m, q, ev := pageFixture()
	srv := newPageServer(t, NewHandler(newTestChecker(m, q, ev), nil))
	resp, err := http.Get(srv + RouteHealth + "?window=6h")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Report
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Window != "6h" || resp.StatusCode != http.StatusOK {
		t.Errorf("GET health over HTTP = %d %+v, %v; want 200 and window 6h", resp.StatusCode, r, err)
	}
}

// countingEvents counts the event log reads of the status page.
type countingEvents struct {
	fakeEvents
	mu    sync.Mutex
	calls int
}

func (c *countingEvents) LatestEvents(ctx context.Context, n int) ([]store.Event, error) {
	c.mu.Lock()
	c.calls++
	c.mu.Unlock()
	return c.fakeEvents.LatestEvents(ctx, n)
}

// TestPublicCacheNotDefeated: anonymous requests with any query string, inside the
// cache's life, cost at most one metrics read (and one page's event log reads) per
// served window; any other window is 400 and costs nothing.
func TestPublicCacheNotDefeated(t *testing.T) {
	m, q, _ := pageFixture()
	ev := &countingEvents{}
	clock := now
	c := NewChecker(Config{QueueURL: testQueueURL, DLQURL: testDLQURL, CacheTTL: 30 * time.Second, Now: func() time.Time { return clock }}, m, q, ev)
	h := NewHandler(c, nil)
	windows := []string{"", "1h", "6h", "24h"}
	codes := map[int]int{}
	for i := range 100 {
		query := map[string]string{"nonce": strconv.Itoa(i)}
		raw := "nonce=" + strconv.Itoa(i)
		if w := windows[i%len(windows)]; w != "" {
			query["window"], raw = w, raw+"&window="+w
		}
		path, accept := RouteHealth, "application/json"
		switch i % 3 {
		case 1:
			accept = "text/html"
		case 2:
			path = RouteStatus
		}
		req := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: raw, QueryStringParameters: query, Headers: map[string]string{"accept": accept}}
		req.RequestContext.HTTP.Method = http.MethodGet
		resp, _ := h.Handle(context.Background(), req)
		codes[resp.StatusCode]++
		clock = clock.Add(100 * time.Millisecond) // 10 s in all, inside the TTL
	}
	if codes[http.StatusOK] != 100 {
		t.Errorf("answers = %v, want 100 × 200", codes)
	}
	// One report per window (3), plus the page's 24-hour chart once.
	if len(m.calls) > len(Windows)+1 {
		t.Errorf("100 requests made %d GetMetricData calls, want at most %d", len(m.calls), len(Windows)+1)
	}
	// One page render per window: LatestEvents for its table, plus the report's own.
	if ev.calls > 2*len(Windows) {
		t.Errorf("100 requests made %d event log reads, want at most %d", ev.calls, 2*len(Windows))
	}

	before := len(m.calls)
	for _, w := range []string{"59m", "60m", "61m", "1h1m", "2h", "15m", "23h59m", "1h,6h"} {
		req := events.APIGatewayV2HTTPRequest{RawPath: RouteHealth, RawQueryString: "window=" + w, QueryStringParameters: map[string]string{"window": w}}
		req.RequestContext.HTTP.Method = http.MethodGet
		if resp, _ := h.Handle(context.Background(), req); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("GET health?window=%s = %d, want 400", w, resp.StatusCode)
		}
	}
	if len(m.calls) != before {
		t.Errorf("refused windows made %d GetMetricData calls, want 0", len(m.calls)-before)
	}
}
