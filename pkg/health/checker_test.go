package health

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

const (
	testQueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/repotrackr-EventsQueue-ABC"
	testDLQURL   = "https://sqs.us-east-1.amazonaws.com/123456789012/repotrackr-EventsDLQ-DEF"
)

// now is 12:34:56 UTC; the default window is 11:35–12:35.
var now = time.Date(2026, 3, 10, 12, 34, 56, 0, time.UTC)

// fakeMetrics answers GetMetricData from per-id series and records every request.
type fakeMetrics struct {
	mu     sync.Mutex
	series map[string][]float64 // one value per period of the query, newest first
	status map[string]cwtypes.StatusCode
	err    error
	calls  []*cloudwatch.GetMetricDataInput
}

func (f *fakeMetrics) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		id := aws.ToString(q.Id)
		res := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
		if s, ok := f.status[id]; ok {
			res.StatusCode = s
		}
		step := time.Minute
		if q.MetricStat != nil {
			step = time.Duration(aws.ToInt32(q.MetricStat.Period)) * time.Second
		}
		for i, v := range f.series[id] {
			res.Timestamps = append(res.Timestamps, in.EndTime.Add(-time.Duration(i+1)*step))
			res.Values = append(res.Values, v)
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

// fakeQueues answers GetQueueAttributes per queue URL.
type fakeQueues struct {
	attrs map[string][2]int // visible, in flight
	err   map[string]error
}

func (f *fakeQueues) GetQueueAttributes(_ context.Context, in *sqs.GetQueueAttributesInput, _ ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error) {
	u := aws.ToString(in.QueueUrl)
	if err := f.err[u]; err != nil {
		return nil, err
	}
	a := f.attrs[u]
	return &sqs.GetQueueAttributesOutput{Attributes: map[string]string{
		"ApproximateNumberOfMessages":           strconv.Itoa(a[0]),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(a[1]),
	}}, nil
}

type fakeEvents struct {
	events []store.Event
	err    error
}

func (f *fakeEvents) LatestEvents(_ context.Context, n int) ([]store.Event, error) {
	if f.err != nil {
		return nil, f.err
	}
	return f.events[:min(n, len(f.events))], nil
}

func newTestChecker(m *fakeMetrics, q *fakeQueues, ev RecentEvents) *Checker {
	return NewChecker(Config{QueueURL: testQueueURL, DLQURL: testDLQURL, Now: func() time.Time { return now }}, m, q, ev)
}

func ptr[T any](v T) *T { return &v }

func TestCheckStatuses(t *testing.T) {
	lastEvent := now.Add(-3 * time.Minute)
	events := &fakeEvents{events: []store.Event{{DeliveryID: "d1", ReceivedAt: lastEvent}}}
	emptyQueues := &fakeQueues{}
	tests := []struct {
		name     string
		series   map[string][]float64
		status   map[string]cwtypes.StatusCode
		cwErr    error
		queues   *fakeQueues
		events   RecentEvents
		want     string
		rate     *float64 // checked when set
		nullRate bool     // success_rate must be null
		total    *int64
		failed   *int64
		ignored  *int64
		dlq      *int64
		age      *int64
		checks   map[string]string // check name -> status
	}{
		{
			name: "no data at all", series: nil, queues: emptyQueues, events: &fakeEvents{},
			want: StatusHealthy, nullRate: true, total: ptr[int64](0), failed: ptr[int64](0), dlq: ptr[int64](0), age: ptr[int64](0),
			checks: map[string]string{"success_rate": CheckOK, "dlq": CheckOK, "backlog": CheckOK, "ingest": CheckOK, "event_log": CheckOK},
		},
		{
			name:   "healthy traffic",
			series: map[string][]float64{idProcessed: {97}, idFailed: {2}, idReceived: {101}, idRejected: {2}, idSuccessRate: {97.0 / 99}},
			queues: emptyQueues, events: events,
			want: StatusHealthy, rate: ptr(0.9798), total: ptr[int64](99), failed: ptr[int64](2), dlq: ptr[int64](0), age: ptr[int64](0),
			checks: map[string]string{"success_rate": CheckOK},
		},
		{
			// Correctly ignored deliveries are handled deliveries and successes.
			name:   "only ignored deliveries",
			series: map[string][]float64{idIgnored: {7}, idDuplicate: {3}, idSuccessRate: {1}},
			queues: emptyQueues, events: events,
			want: StatusHealthy, rate: ptr(1.0), total: ptr[int64](7), failed: ptr[int64](0), ignored: ptr[int64](7),
			checks: map[string]string{"success_rate": CheckOK},
		},
		{
			name:   "ignored count as successes when the expression has no value",
			series: map[string][]float64{idProcessed: {2}, idIgnored: {6}, idFailed: {2}},
			queues: emptyQueues, events: events,
			want: StatusDegraded, rate: ptr(0.8), total: ptr[int64](10), failed: ptr[int64](2), ignored: ptr[int64](6),
		},
		{
			name:   "rate at the threshold is degraded",
			series: map[string][]float64{idProcessed: {19}, idFailed: {1}, idSuccessRate: {0.95}},
			queues: emptyQueues, events: events,
			want: StatusDegraded, rate: ptr(0.95), checks: map[string]string{"success_rate": CheckWarn},
		},
		{
			name:   "all failures",
			series: map[string][]float64{idFailed: {5}, idSuccessRate: {0}},
			queues: emptyQueues, events: events,
			want: StatusUnhealthy, rate: ptr(0.0), total: ptr[int64](5), failed: ptr[int64](5), checks: map[string]string{"success_rate": CheckFail},
		},
		{
			name:   "no expression value falls back to the sums",
			series: map[string][]float64{idProcessed: {3}, idFailed: {1}},
			queues: emptyQueues, events: events,
			want: StatusUnhealthy, rate: ptr(0.75), checks: map[string]string{"success_rate": CheckFail},
		},
		{
			name: "a message in the DLQ", queues: &fakeQueues{attrs: map[string][2]int{testDLQURL: {1, 0}}}, events: events,
			want: StatusDegraded, dlq: ptr[int64](1), checks: map[string]string{"dlq": CheckWarn},
		},
		{
			name: "a full DLQ", queues: &fakeQueues{attrs: map[string][2]int{testDLQURL: {8, 4}}}, events: events,
			want: StatusUnhealthy, dlq: ptr[int64](12), checks: map[string]string{"dlq": CheckFail},
		},
		{
			name: "old backlog", series: map[string][]float64{idQueueAge: {600, 20}},
			queues: &fakeQueues{attrs: map[string][2]int{testQueueURL: {3, 1}}}, events: events,
			want: StatusDegraded, age: ptr[int64](600), checks: map[string]string{"backlog": CheckWarn},
		},
		{
			name: "very old backlog", series: map[string][]float64{idQueueAge: {3600}},
			queues: &fakeQueues{attrs: map[string][2]int{testQueueURL: {3, 0}}}, events: events,
			want: StatusUnhealthy, age: ptr[int64](3600), checks: map[string]string{"backlog": CheckFail},
		},
		{
			name: "an empty queue has no backlog whatever the metric says", series: map[string][]float64{idQueueAge: {3600}},
			queues: emptyQueues, events: events,
			want: StatusHealthy, age: ptr[int64](0), checks: map[string]string{"backlog": CheckOK},
		},
		{
			name: "messages but no age metric", queues: &fakeQueues{attrs: map[string][2]int{testQueueURL: {2, 0}}}, events: events,
			want: StatusDegraded, age: nil, checks: map[string]string{"backlog": CheckUnknown},
		},
		{
			name: "CloudWatch unreadable", cwErr: errors.New("connection refused"), queues: emptyQueues, events: events,
			want: StatusDegraded, nullRate: true, dlq: ptr[int64](0), age: ptr[int64](0),
			checks: map[string]string{"success_rate": CheckUnknown},
		},
		{
			name: "CloudWatch incomplete", status: map[string]cwtypes.StatusCode{idFailed: cwtypes.StatusCodeInternalError}, queues: emptyQueues, events: events,
			want: StatusDegraded, total: nil, checks: map[string]string{"success_rate": CheckUnknown},
		},
		{
			name: "CloudWatch unreadable and a queue backlog", cwErr: errors.New("throttled"),
			queues: &fakeQueues{attrs: map[string][2]int{testQueueURL: {4, 0}}}, events: events,
			want: StatusDegraded, age: nil, checks: map[string]string{"success_rate": CheckUnknown, "backlog": CheckUnknown},
		},
		{
			name: "DLQ unreadable", queues: &fakeQueues{err: map[string]error{testDLQURL: errors.New("access denied")}}, events: events,
			want: StatusDegraded, dlq: nil, checks: map[string]string{"dlq": CheckUnknown},
		},
		{
			name: "event log unreadable", queues: emptyQueues, events: &fakeEvents{err: errors.New("throttled")},
			want: StatusDegraded, checks: map[string]string{"event_log": CheckUnknown},
		},
		{
			name: "ingest could not queue", series: map[string][]float64{idEnqueueFailed: {2}, idIngestInternal: {1}},
			queues: emptyQueues, events: events,
			want: StatusDegraded, checks: map[string]string{"ingest": CheckWarn},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &fakeMetrics{series: tt.series, status: tt.status, err: tt.cwErr}
			r := newTestChecker(m, tt.queues, tt.events).Check(context.Background(), DefaultWindow)
			if r.Status != tt.want {
				t.Errorf("Check().Status = %s, want %s (checks %+v)", r.Status, tt.want, r.Checks)
			}
			if (tt.rate != nil || tt.nullRate) && !eqPtr(r.SuccessRate, tt.rate) {
				t.Errorf("Check().SuccessRate = %v, want %v", deref(r.SuccessRate), deref(tt.rate))
			}
			for name, p := range map[string][2]*int64{"total": {r.TotalEvents, tt.total}, "failed": {r.FailedEvents, tt.failed}, "ignored": {r.IgnoredEvents, tt.ignored}, "dlq": {r.DLQDepth, tt.dlq}, "age": {r.OldestMessageAgeSeconds, tt.age}} {
				if p[1] != nil && !eqPtr(p[0], p[1]) {
					t.Errorf("Check() %s = %v, want %v", name, deref(p[0]), *p[1])
				}
			}
			if tt.cwErr != nil && (r.TotalEvents != nil || r.FailedEvents != nil || r.SuccessRate != nil) {
				t.Errorf("Check() with CloudWatch down reports counts %v %v %v, want null", deref(r.TotalEvents), deref(r.FailedEvents), deref(r.SuccessRate))
			}
			got := checkMap(r)
			for name, want := range tt.checks {
				if got[name] != want {
					t.Errorf("Check() check %s = %q, want %q (all %+v)", name, got[name], want, r.Checks)
				}
			}
			// Every status but healthy says why.
			if (r.Status == StatusHealthy) != (len(r.Reasons) == 0) {
				t.Errorf("Check() = %s with reasons %v, want reasons exactly when not healthy", r.Status, r.Reasons)
			}
			if len(m.calls) != 1 {
				t.Errorf("Check() made %d GetMetricData calls, want 1", len(m.calls))
			}
		})
	}
}

func checkMap(r Report) map[string]string {
	m := map[string]string{}
	for _, c := range r.Checks {
		m[c.Name] = c.Status
	}
	return m
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestCheckLastEventAndWindow(t *testing.T) {
	last := now.Add(-90 * time.Second)
	m := &fakeMetrics{}
	c := newTestChecker(m, &fakeQueues{}, &fakeEvents{events: []store.Event{{ReceivedAt: last}}})
	r := c.Check(context.Background(), 6*time.Hour)
	if r.LastEventAt == nil || !r.LastEventAt.Equal(last) {
		t.Errorf("Check().LastEventAt = %v, want %v", r.LastEventAt, last)
	}
	if r.Window != "6h" || r.WindowSeconds != 21600 {
		t.Errorf("Check() window = %s, %d, want 6h, 21600", r.Window, r.WindowSeconds)
	}
	wantTo := time.Date(2026, 3, 10, 12, 35, 0, 0, time.UTC)
	if !r.To.Equal(wantTo) || !r.From.Equal(wantTo.Add(-6*time.Hour)) {
		t.Errorf("Check() range = %s..%s, want %s..%s", r.From, r.To, wantTo.Add(-6*time.Hour), wantTo)
	}
}

// TestCheckRequest pins the one GetMetricData request: the totals without dimensions in
// the metrics namespace, summed over one period covering the whole aligned window, the
// ingest 5xx reasons, the queue's age per minute, and the success-rate expression.
func TestCheckRequest(t *testing.T) {
	m := &fakeMetrics{}
	c := NewChecker(Config{Namespace: "Custom/NS", QueueURL: testQueueURL, DLQURL: testDLQURL, Now: func() time.Time { return now }}, m, &fakeQueues{}, nil)
	c.Check(context.Background(), 6*time.Hour)
	if len(m.calls) != 1 {
		t.Fatalf("Check() made %d GetMetricData calls, want 1", len(m.calls))
	}
	in := m.calls[0]
	wantEnd := time.Date(2026, 3, 10, 12, 35, 0, 0, time.UTC)
	if !in.EndTime.Equal(wantEnd) || !in.StartTime.Equal(wantEnd.Add(-6*time.Hour)) {
		t.Errorf("GetMetricData range = %s..%s, want %s..%s", in.StartTime, in.EndTime, wantEnd.Add(-6*time.Hour), wantEnd)
	}
	type want struct {
		ns, name, dims, stat string
		period               int32
	}
	wants := map[string]want{
		idProcessed:      {"Custom/NS", metrics.EventsProcessed, "", "Sum", 21600},
		idIgnored:        {"Custom/NS", metrics.EventsIgnored, "", "Sum", 21600},
		idDuplicate:      {"Custom/NS", metrics.EventsDuplicate, "", "Sum", 21600},
		idFailed:         {"Custom/NS", metrics.EventsFailed, "", "Sum", 21600},
		idReceived:       {"Custom/NS", metrics.DeliveriesReceived, "", "Sum", 21600},
		idRejected:       {"Custom/NS", metrics.DeliveriesRejected, "", "Sum", 21600},
		idEnqueueFailed:  {"Custom/NS", metrics.DeliveriesRejected, "Reason=enqueue_failed", "Sum", 21600},
		idIngestInternal: {"Custom/NS", metrics.DeliveriesRejected, "Reason=internal", "Sum", 21600},
		idQueueAge:       {"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName=repotrackr-EventsQueue-ABC", "Maximum", 60},
	}
	var ids []string
	for _, q := range in.MetricDataQueries {
		id := aws.ToString(q.Id)
		ids = append(ids, id)
		if id == idSuccessRate {
			if aws.ToString(q.Expression) != SuccessRateExpression || q.MetricStat != nil {
				t.Errorf("query %s = %+v, want expression %q", id, q, SuccessRateExpression)
			}
			continue
		}
		w, ok := wants[id]
		if !ok || q.MetricStat == nil {
			t.Errorf("unexpected query %s", id)
			continue
		}
		ms := q.MetricStat
		var dims string
		for _, d := range ms.Metric.Dimensions {
			dims += aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
		}
		got := want{aws.ToString(ms.Metric.Namespace), aws.ToString(ms.Metric.MetricName), dims, aws.ToString(ms.Stat), aws.ToInt32(ms.Period)}
		if got != w {
			t.Errorf("query %s = %+v, want %+v", id, got, w)
		}
	}
	slices.Sort(ids)
	if wantIDs := []string{idDuplicate, idEnqueueFailed, idFailed, idIgnored, idIngestInternal, idProcessed, idQueueAge, idReceived, idRejected, idSuccessRate}; !slices.Equal(ids, wantIDs) {
		t.Errorf("query ids = %v, want %v", ids, wantIDs)
	}
}

func TestCheckCache(t *testing.T) {
	m := &fakeMetrics{}
	clock := now
	c := NewChecker(Config{QueueURL: testQueueURL, DLQURL: testDLQURL, CacheTTL: 30 * time.Second, Now: func() time.Time { return clock }}, m, &fakeQueues{}, nil)
	c.Check(context.Background(), time.Hour)
	clock = clock.Add(10 * time.Second)
	c.Check(context.Background(), time.Hour)
	if len(m.calls) != 1 {
		t.Errorf("two checks within the TTL made %d GetMetricData calls, want 1", len(m.calls))
	}
	c.Check(context.Background(), 6*time.Hour)
	clock = clock.Add(30 * time.Second)
	c.Check(context.Background(), time.Hour)
	if len(m.calls) != 3 {
		t.Errorf("another window and an expired entry made %d calls in all, want 3", len(m.calls))
	}
}

func TestThresholdsFrom(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Thresholds
		wantErr string
	}{
		{"defaults", nil, DefaultThresholds(), ""},
		{"all set", map[string]string{
			config.HealthMinSuccessRate: "0.99", config.HealthUnhealthySuccessRate: "0.5", config.HealthMaxQueueAge: "120s",
			config.HealthUnhealthyQueueAge: "1h", config.HealthUnhealthyDLQDepth: "3",
		}, Thresholds{MinSuccessRate: 0.99, UnhealthySuccessRate: 0.5, MaxQueueAge: 2 * time.Minute, UnhealthyQueueAge: time.Hour, UnhealthyDLQDepth: 3}, ""},
		{"not a number", map[string]string{config.HealthMinSuccessRate: "high"}, Thresholds{}, `HEALTH_MIN_SUCCESS_RATE="high": not a number`},
		{"unhealthy above healthy", map[string]string{config.HealthUnhealthySuccessRate: "0.99"}, Thresholds{}, "success rate thresholds"},
		{"ages reversed", map[string]string{config.HealthMaxQueueAge: "2h"}, Thresholds{}, "queue age thresholds"},
		{"DLQ depth zero", map[string]string{config.HealthUnhealthyDLQDepth: "0"}, Thresholds{}, "HEALTH_UNHEALTHY_DLQ_DEPTH"},
		{"bare seconds", map[string]string{config.HealthMaxQueueAge: "300"}, Thresholds{}, `HEALTH_MAX_QUEUE_AGE="300": not a Go duration`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ThresholdsFrom(config.NewEnv(config.Health, func(k string) string { return tt.env[k] }))
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("ThresholdsFrom(%v) = %+v, %v, want %+v", tt.env, got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ThresholdsFrom(%v) error = %v, want one containing %q", tt.env, err, tt.wantErr)
			}
		})
	}
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"", time.Hour, false},
		{"1h", time.Hour, false},
		{"6h", 6 * time.Hour, false},
		{"24h", 24 * time.Hour, false},
		// Any other spelling or window is refused: each would be its own cache entry.
		{"60m", 0, true},
		{"1h0m", 0, true},
		{"15m", 0, true},
		{"90m", 0, true},
		{"2h", 0, true},
		{"25h", 0, true},
		{"-1h", 0, true},
		{"1d", 0, true},
		{"1h,6h", 0, true},
		{" 1h", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseWindow(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseWindow(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	for _, w := range Windows {
		if got, err := ParseWindow(FormatWindow(w)); err != nil || got != w {
			t.Errorf("ParseWindow(FormatWindow(%v)) = %v, %v; want %v", w, got, err, w)
		}
	}
}

func TestQueueName(t *testing.T) {
	for in, want := range map[string]string{
		testQueueURL: "repotrackr-EventsQueue-ABC",
		"http://sqs.us-east-1.localhost:4566/000000000000/dev-EventsDLQ": "dev-EventsDLQ",
		"": "",
	} {
		if got := QueueName(in); got != want {
			t.Errorf("QueueName(%q) = %q, want %q", in, got, want)
		}
	}
}
