package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/repotrackr/github-integration/pkg/local/cwlocal"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// These tests run the checker the way the local stack does: the real SDK clients,
// CloudWatch answered by pkg/local/cwlocal from EMF lines, SQS by fauxqs.

// localStack is one test's queues (from template.yaml, fresh names) and CloudWatch
// stand-in, with a record of the CloudWatch requests as sent on the wire.
type localStack struct {
	sqs              *sqs.Client
	queueURL, dlqURL string
	cw               *cwlocal.Server
	cwURL            string
	now              time.Time

	mu       sync.Mutex
	requests []recorded
}

type recorded struct {
	path, protocol string
	body           cbor.Map
}

// queueSeq numbers the tests' queues.
var queueSeq atomic.Int64

func newLocalStack(t *testing.T, now time.Time) *localStack {
	t.Helper()
	ctx := context.Background()
	client := standin.SQS(t)
	urls, err := standin.CreateQueues(ctx, client, fmt.Sprintf("h%d-", queueSeq.Add(1)))
	if err != nil {
		t.Fatalf("CreateQueues() error = %v", err)
	}
	ls := &localStack{sqs: client, queueURL: urls["EventsQueue"], dlqURL: urls["EventsDLQ"], cw: cwlocal.New(), now: now}
	ls.cw.SetClock(func() time.Time { return ls.now })
	ls.cw.WatchFauxqs(standin.Fauxqs(t).URL)
	h := ls.cw.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		v, err := cbor.Decode(raw)
		if err == nil {
			m, _ := v.(cbor.Map)
			ls.mu.Lock()
			ls.requests = append(ls.requests, recorded{path: r.URL.Path, protocol: r.Header.Get("Smithy-Protocol"), body: m})
			ls.mu.Unlock()
		}
		r.Body = io.NopCloser(bytes.NewReader(raw))
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ls.cwURL = srv.URL
	return ls
}

func (ls *localStack) checker(t *testing.T, cwEndpoint string) *Checker {
	t.Helper()
	cfg, err := standin.AWSConfig(context.Background(), cwEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
	return NewChecker(Config{QueueURL: ls.queueURL, DLQURL: ls.dlqURL, Now: func() time.Time { return ls.now }, CallTimeout: 5 * time.Second}, cw, ls.sqs, nil)
}

// emit feeds the stand-in EMF lines as the functions print them, stamped at.
func (ls *localStack) emit(t *testing.T, at time.Time, dimName, dimValue string, ms ...metrics.Metric) {
	t.Helper()
	var buf bytes.Buffer
	metrics.New(&buf, "").Emit(dimName, dimValue, map[string]any{"github_delivery_id": "d"}, ms...)
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatal(err)
	}
	line["_aws"].(map[string]any)["Timestamp"] = at.UnixMilli()
	b, _ := json.Marshal(line)
	ls.cw.Ingest(b)
}

func (ls *localStack) send(t *testing.T, queueURL string, n int) {
	t.Helper()
	for i := range n {
		if _, err := ls.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(fmt.Sprint("m", i))}); err != nil {
			t.Fatalf("SendMessage() error = %v", err)
		}
	}
}

func TestCheckThroughSDK(t *testing.T) {
	start := time.Now().UTC()
	type delivery struct {
		typ     string
		failed  bool
		ignored bool
	}
	tests := []struct {
		name       string
		deliveries []delivery
		rejected   int
		dlq        int
		queued     int
		later      time.Duration // how long after the sends the check runs
		want       string
		rate       *float64
		total      int64
		failed     int64
		dlqDepth   int64
		minAge     int64
	}{
		{name: "no data at all", want: StatusHealthy},
		{
			name:       "mostly good",
			deliveries: append(slices.Repeat([]delivery{{typ: "push"}}, 39), delivery{typ: "issues", failed: true}),
			rejected:   2, want: StatusHealthy, rate: ptr(0.975), total: 40, failed: 1,
		},
		{
			name:       "all failures",
			deliveries: slices.Repeat([]delivery{{typ: "push", failed: true}}, 4),
			want:       StatusUnhealthy, rate: ptr(0.0), total: 4, failed: 4,
		},
		{
			// Seven deliveries, all correctly ignored: handled, and all successes.
			name:       "only ignored deliveries",
			deliveries: slices.Repeat([]delivery{{typ: "issues", ignored: true}}, 7),
			want:       StatusHealthy, rate: ptr(1.0), total: 7,
		},
		{
			name: "processed, ignored and failed",
			deliveries: append(append(slices.Repeat([]delivery{{typ: "push"}}, 20), slices.Repeat([]delivery{{typ: "issues", ignored: true}}, 19)...),
				delivery{typ: "push", failed: true}),
			want: StatusHealthy, rate: ptr(0.975), total: 40, failed: 1,
		},
		{name: "a full DLQ", dlq: 12, want: StatusUnhealthy, dlqDepth: 12},
		{name: "an old backlog", queued: 2, later: 10 * time.Minute, want: StatusDegraded, minAge: 540}, // sent seconds after start, however loaded the machine
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := newLocalStack(t, start)
			for i, d := range tt.deliveries {
				at := start.Add(-time.Duration(len(tt.deliveries)-i) * time.Second)
				ls.emit(t, at, metrics.DimEventType, d.typ, metrics.Count(metrics.DeliveriesReceived, 1), metrics.Count(metrics.DeliveriesQueued, 1))
				switch {
				case d.failed:
					ls.emit(t, at, metrics.DimEventType, d.typ, metrics.Count(metrics.EventsFailed, 1))
				case d.ignored:
					ls.emit(t, at, metrics.DimEventType, d.typ, metrics.Count(metrics.EventsIgnored, 1))
				default:
					ls.emit(t, at, metrics.DimEventType, d.typ, metrics.Count(metrics.EventsProcessed, 1))
				}
			}
			for range tt.rejected {
				ls.emit(t, start, metrics.DimReason, "bad_signature", metrics.Count(metrics.DeliveriesReceived, 1), metrics.Count(metrics.DeliveriesRejected, 1))
			}
			ls.send(t, ls.dlqURL, tt.dlq)
			ls.send(t, ls.queueURL, tt.queued)
			ls.now = start.Add(tt.later)

			r := ls.checker(t, ls.cwURL).Check(context.Background(), DefaultWindow)
			if r.Status != tt.want {
				t.Errorf("Check().Status = %s, want %s (checks %+v)", r.Status, tt.want, r.Checks)
			}
			if !eqPtr(r.SuccessRate, tt.rate) {
				t.Errorf("Check().SuccessRate = %v, want %v", deref(r.SuccessRate), deref(tt.rate))
			}
			if deref(r.TotalEvents) != tt.total || deref(r.FailedEvents) != tt.failed || deref(r.DLQDepth) != tt.dlqDepth {
				t.Errorf("Check() total, failed, dlq = %v, %v, %v; want %d, %d, %d",
					deref(r.TotalEvents), deref(r.FailedEvents), deref(r.DLQDepth), tt.total, tt.failed, tt.dlqDepth)
			}
			if want := int64(len(tt.deliveries) + tt.rejected); deref(r.ReceivedDeliveries) != want || deref(r.RejectedDeliveries) != int64(tt.rejected) {
				t.Errorf("Check() received, rejected = %v, %v; want %d, %d", deref(r.ReceivedDeliveries), deref(r.RejectedDeliveries), want, tt.rejected)
			}
			if r.OldestMessageAgeSeconds == nil || *r.OldestMessageAgeSeconds < tt.minAge || (tt.minAge == 0 && *r.OldestMessageAgeSeconds != 0) {
				t.Errorf("Check().OldestMessageAgeSeconds = %v, want at least %d", deref(r.OldestMessageAgeSeconds), tt.minAge)
			}
			if len(ls.requests) != 1 {
				t.Errorf("Check() sent %d CloudWatch requests, want 1", len(ls.requests))
			}
		})
	}
}

// TestCheckRequestOnTheWire checks the GetMetricData request as the SDK encodes it: one
// RPCv2-CBOR call with the intended queries, expression, periods and time range.
func TestCheckRequestOnTheWire(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 34, 56, 0, time.UTC)
	ls := newLocalStack(t, now)
	ls.checker(t, ls.cwURL).Check(context.Background(), 6*time.Hour)
	if len(ls.requests) != 1 {
		t.Fatalf("Check() sent %d CloudWatch requests, want 1", len(ls.requests))
	}
	req := ls.requests[0]
	if req.path != "/service/GraniteServiceVersion20100801/operation/GetMetricData" || req.protocol != "rpc-v2-cbor" {
		t.Errorf("request = %s (Smithy-Protocol %q), want GetMetricData over rpc-v2-cbor", req.path, req.protocol)
	}
	wantEnd := time.Date(2026, 3, 10, 12, 35, 0, 0, time.UTC)
	for name, want := range map[string]time.Time{"StartTime": wantEnd.Add(-6 * time.Hour), "EndTime": wantEnd} {
		got, err := cbor.AsTime(req.body[name])
		if err != nil || !got.Equal(want) {
			t.Errorf("%s = %v (%v), want %v", name, got, err, want)
		}
	}
	queries, _ := req.body["MetricDataQueries"].(cbor.List)
	got := map[string]string{}
	for _, v := range queries {
		q := v.(cbor.Map)
		id := string(q["Id"].(cbor.String))
		if e, ok := q["Expression"].(cbor.String); ok {
			got[id] = "expr " + string(e)
			continue
		}
		ms := q["MetricStat"].(cbor.Map)
		m := ms["Metric"].(cbor.Map)
		period, _ := cbor.AsInt64(ms["Period"])
		desc := fmt.Sprintf("%s/%s %s %d", m["Namespace"], m["MetricName"], ms["Stat"], period)
		if dims, ok := m["Dimensions"].(cbor.List); ok {
			for _, d := range dims {
				dm := d.(cbor.Map)
				desc += fmt.Sprintf(" %s=%s", dm["Name"], dm["Value"])
			}
		}
		got[id] = desc
	}
	ns := metrics.DefaultNamespace
	want := map[string]string{
		"processed":       ns + "/EventsProcessed Sum 21600",
		"ignored":         ns + "/EventsIgnored Sum 21600",
		"duplicate":       ns + "/EventsDuplicate Sum 21600",
		"failed":          ns + "/EventsFailed Sum 21600",
		"received":        ns + "/DeliveriesReceived Sum 21600",
		"rejected":        ns + "/DeliveriesRejected Sum 21600",
		"enqueue_failed":  ns + "/DeliveriesRejected Sum 21600 Reason=enqueue_failed",
		"ingest_internal": ns + "/DeliveriesRejected Sum 21600 Reason=internal",
		"queue_age":       "AWS/SQS/ApproximateAgeOfOldestMessage Maximum 60 QueueName=" + QueueName(ls.queueURL),
		"success_rate":    "expr " + SuccessRateExpression,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("queries on the wire =\n%v\nwant\n%v", got, want)
	}
}

func TestCheckCloudWatchUnreachable(t *testing.T) {
	ls := newLocalStack(t, time.Now().UTC())
	// A port nothing listens on.
	l := httptest.NewServer(http.NotFoundHandler())
	dead := l.URL
	l.Close()
	r := ls.checker(t, dead).Check(context.Background(), DefaultWindow)
	if r.Status != StatusDegraded {
		t.Errorf("Check() with CloudWatch unreachable = %s, want degraded", r.Status)
	}
	if r.SuccessRate != nil || r.TotalEvents != nil || checkMap(r)["success_rate"] != CheckUnknown {
		t.Errorf("Check() with CloudWatch unreachable = rate %v, total %v, checks %+v; want nulls and unknown", deref(r.SuccessRate), deref(r.TotalEvents), r.Checks)
	}
	if !slices.Contains(r.Reasons, "CloudWatch metrics could not be read") {
		t.Errorf("Check().Reasons = %v, want the CloudWatch reason", r.Reasons)
	}
	body, _ := json.Marshal(r)
	if bytes.Contains(body, []byte("127.0.0.1")) || bytes.Contains(body, []byte("refused")) {
		t.Errorf("report leaks internal details: %s", body)
	}
}
