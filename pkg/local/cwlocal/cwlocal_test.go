package cwlocal

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/encoding/cbor"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// base is a fixed time on a minute boundary; tests set the Server's clock to it.
var base = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// newClient serves s over HTTP and returns the real SDK client pointed at it. Each
// request's Content-Encoding is sent to encodings, when given.
func newClient(t *testing.T, s *Server, encodings ...chan<- string) *cloudwatch.Client {
	t.Helper()
	h := s.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range encodings {
			c <- r.Header.Get("Content-Encoding")
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg, err := standin.AWSConfig(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) { o.RetryMaxAttempts = 1 })
}

func emfLine(t *testing.T, at time.Time, dimName, dimValue string, ms ...metrics.Metric) []byte {
	t.Helper()
	var buf bytes.Buffer
	metrics.New(&buf, "").Emit(dimName, dimValue, nil, ms...)
	// The Emitter stamps lines with the wall clock; move the line to the test's time.
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("Emit() wrote %q: %v", buf.String(), err)
	}
	line["_aws"].(map[string]any)["Timestamp"] = at.UnixMilli()
	out, err := json.Marshal(line)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func metricStat(id, name string, dims []cwtypes.Dimension, stat string, period int32) cwtypes.MetricDataQuery {
	return cwtypes.MetricDataQuery{
		Id: aws.String(id),
		MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String(metrics.DefaultNamespace), MetricName: aws.String(name), Dimensions: dims},
			Period: aws.Int32(period),
			Stat:   aws.String(stat),
		},
	}
}

func resultByID(out *cloudwatch.GetMetricDataOutput) map[string]cwtypes.MetricDataResult {
	m := map[string]cwtypes.MetricDataResult{}
	for _, r := range out.MetricDataResults {
		m[aws.ToString(r.Id)] = r
	}
	return m
}

func TestIngestEMFAndGetMetricData(t *testing.T) {
	s := New()
	s.now = func() time.Time { return base.Add(time.Hour) }
	w := s.LineWriter()
	// Three pushes processed, one failed, in the first hour; one processed in the next.
	lines := [][]byte{
		emfLine(t, base.Add(1*time.Minute), metrics.DimEventType, "push", metrics.Count(metrics.EventsProcessed, 1)),
		emfLine(t, base.Add(2*time.Minute), metrics.DimEventType, "push", metrics.Count(metrics.EventsProcessed, 1)),
		emfLine(t, base.Add(3*time.Minute), metrics.DimEventType, "issues", metrics.Count(metrics.EventsProcessed, 1)),
		emfLine(t, base.Add(4*time.Minute), metrics.DimEventType, "push", metrics.Count(metrics.EventsFailed, 1)),
		emfLine(t, base.Add(70*time.Minute), metrics.DimEventType, "push", metrics.Count(metrics.EventsProcessed, 1)),
		[]byte(`{"level":"INFO","msg":"not a metric"}`),
		[]byte("START RequestId: 1 Version: $LATEST"),
	}
	for _, l := range lines {
		// Written in two pieces, as a pipe may deliver them.
		half := len(l) / 2
		_, _ = w.Write(l[:half])
		_, _ = w.Write(append(slices.Clone(l[half:]), '\n'))
	}
	cw := newClient(t, s)

	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base),
		EndTime:   aws.Time(base.Add(2 * time.Hour)),
		ScanBy:    cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			metricStat("processed", metrics.EventsProcessed, nil, "Sum", 3600),
			metricStat("failed", metrics.EventsFailed, nil, "Sum", 3600),
			metricStat("push", metrics.EventsProcessed, []cwtypes.Dimension{{Name: aws.String(metrics.DimEventType), Value: aws.String("push")}}, "Sum", 3600),
			{Id: aws.String("rate"), Expression: aws.String("FILL(processed, 0) / (FILL(processed, 0) + FILL(failed, 0))"), Label: aws.String("Success rate")},
			{Id: aws.String("raw"), Expression: aws.String("processed / (processed + failed)")},
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData() error = %v", err)
	}
	got := resultByID(out)
	hour := []time.Time{base, base.Add(time.Hour)}
	tests := []struct {
		id     string
		times  []time.Time
		values []float64
		label  string
	}{
		{"processed", hour, []float64{3, 1}, metrics.EventsProcessed},
		{"failed", hour[:1], []float64{1}, metrics.EventsFailed},
		{"push", hour, []float64{2, 1}, metrics.EventsProcessed},
		{"rate", hour, []float64{0.75, 1}, "Success rate"},
		// Without FILL, the second hour has no failed value, so no result, as in CloudWatch.
		{"raw", hour[:1], []float64{0.75}, "raw"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			r := got[tt.id]
			if !slices.EqualFunc(r.Timestamps, tt.times, time.Time.Equal) || !slices.Equal(r.Values, tt.values) {
				t.Errorf("GetMetricData() %s = %v %v, want %v %v", tt.id, r.Timestamps, r.Values, tt.times, tt.values)
			}
			if aws.ToString(r.Label) != tt.label || r.StatusCode != cwtypes.StatusCodeComplete {
				t.Errorf("GetMetricData() %s label, status = %q, %q, want %q, Complete", tt.id, aws.ToString(r.Label), r.StatusCode, tt.label)
			}
		})
	}
}

func TestGetMetricDataDefaults(t *testing.T) {
	s := New()
	s.now = func() time.Time { return base }
	for i := range 3 {
		s.Put(Metric{Namespace: metrics.DefaultNamespace, Name: "M"}, base.Add(time.Duration(i)*time.Minute+time.Second), float64(i+1), "Count")
	}
	cw := newClient(t, s)
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		// An unaligned start is rounded down to the minute, as CloudWatch does.
		StartTime: aws.Time(base.Add(30 * time.Second)),
		EndTime:   aws.Time(base.Add(3 * time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			metricStat("m", "M", nil, "Maximum", 60),
			{Id: aws.String("hidden"), ReturnData: aws.Bool(false), MetricStat: metricStat("x", "M", nil, "Sum", 60).MetricStat},
			{Id: aws.String("twice"), Expression: aws.String("-hidden * 2 + 2 ^ 2")},
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData() error = %v", err)
	}
	if len(out.MetricDataResults) != 2 {
		t.Fatalf("GetMetricData() returned %d results, want 2 (ReturnData false hides one)", len(out.MetricDataResults))
	}
	m := resultByID(out)["m"]
	// Newest first by default.
	wantTimes := []time.Time{base.Add(2 * time.Minute), base.Add(time.Minute), base}
	if !slices.EqualFunc(m.Timestamps, wantTimes, time.Time.Equal) || !slices.Equal(m.Values, []float64{3, 2, 1}) {
		t.Errorf("GetMetricData() m = %v %v, want %v [3 2 1]", m.Timestamps, m.Values, wantTimes)
	}
	if got := resultByID(out)["twice"].Values; !slices.Equal(got, []float64{-2, 0, 2}) {
		t.Errorf("GetMetricData() twice = %v, want [-2 0 2]", got)
	}
}

func TestGetMetricDataRefusals(t *testing.T) {
	s := New()
	cw := newClient(t, s)
	ok := metricStat("m", "M", nil, "Sum", 60)
	tests := []struct {
		name    string
		queries []cwtypes.MetricDataQuery
		want    any
	}{
		{"bad id", []cwtypes.MetricDataQuery{metricStat("Bad", "M", nil, "Sum", 60)}, &cwtypes.InvalidParameterValueException{}},
		{"bad period", []cwtypes.MetricDataQuery{metricStat("m", "M", nil, "Sum", 90)}, &cwtypes.InvalidParameterValueException{}},
		{"bad stat", []cwtypes.MetricDataQuery{metricStat("m", "M", nil, "Median", 60)}, &cwtypes.InvalidParameterValueException{}},
		{"both forms", []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: ok.MetricStat, Expression: aws.String("1")}}, &cwtypes.InvalidParameterValueException{}},
		{"unknown id", []cwtypes.MetricDataQuery{ok, {Id: aws.String("e"), Expression: aws.String("m + nope")}}, &cwtypes.InvalidParameterValueException{}},
		{"cycle", []cwtypes.MetricDataQuery{{Id: aws.String("a"), Expression: aws.String("b")}, {Id: aws.String("b"), Expression: aws.String("a")}}, &cwtypes.InvalidParameterValueException{}},
		{"unsupported function", []cwtypes.MetricDataQuery{ok, {Id: aws.String("e"), Expression: aws.String("ANOMALY_DETECTION_BAND(m)")}}, &cwtypes.InvalidParameterValueException{}},
		{"scalar", []cwtypes.MetricDataQuery{{Id: aws.String("e"), Expression: aws.String("1 + 2")}}, &cwtypes.InvalidParameterValueException{}},
		{"syntax", []cwtypes.MetricDataQuery{ok, {Id: aws.String("e"), Expression: aws.String("(m + 1")}}, &cwtypes.InvalidParameterValueException{}},
		{"no metric name", []cwtypes.MetricDataQuery{{Id: aws.String("m"), MetricStat: &cwtypes.MetricStat{Metric: &cwtypes.Metric{Namespace: aws.String("N")}, Period: aws.Int32(60), Stat: aws.String("Sum")}}}, &cwtypes.MissingRequiredParameterException{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
				StartTime: aws.Time(base), EndTime: aws.Time(base.Add(time.Hour)), MetricDataQueries: tt.queries,
			})
			switch want := tt.want.(type) {
			case *cwtypes.InvalidParameterValueException:
				if !errors.As(err, &want) {
					t.Errorf("GetMetricData() error = %v, want InvalidParameterValueException", err)
				}
			case *cwtypes.MissingRequiredParameterException:
				if !errors.As(err, &want) {
					t.Errorf("GetMetricData() error = %v, want MissingRequiredParameterException", err)
				}
			}
		})
	}
}

func TestPutMetricDataAndListMetrics(t *testing.T) {
	s := New()
	s.now = func() time.Time { return base.Add(time.Minute) }
	encodings := make(chan string, 10)
	cw := newClient(t, s, encodings)
	ctx := context.Background()
	dim := []cwtypes.Dimension{{Name: aws.String("Endpoint"), Value: aws.String("contents")}}
	// Enough datums that the SDK gzips the body (its threshold is 10 KiB).
	var data []cwtypes.MetricDatum
	for i := range 300 {
		data = append(data, cwtypes.MetricDatum{MetricName: aws.String("Latency"), Dimensions: dim, Timestamp: aws.Time(base), Value: aws.Float64(float64(i + 1)), Unit: cwtypes.StandardUnitMilliseconds})
	}
	data = append(data,
		cwtypes.MetricDatum{MetricName: aws.String("Batch"), Timestamp: aws.Time(base), Values: []float64{1, 10}, Counts: []float64{3, 1}},
		cwtypes.MetricDatum{MetricName: aws.String("Set"), Timestamp: aws.Time(base), StatisticValues: &cwtypes.StatisticSet{SampleCount: aws.Float64(4), Sum: aws.Float64(20), Minimum: aws.Float64(2), Maximum: aws.Float64(8)}},
	)
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("Test"), MetricData: data}); err != nil {
		t.Fatalf("PutMetricData() error = %v", err)
	}
	if enc := <-encodings; enc != "gzip" {
		t.Errorf("PutMetricData() of %d datums sent Content-Encoding %q, want gzip (the stand-in must read it)", len(data), enc)
	}
	q := func(id, name string, dims []cwtypes.Dimension, stat string) cwtypes.MetricDataQuery {
		m := metricStat(id, name, dims, stat, 60)
		m.MetricStat.Metric.Namespace = aws.String("Test")
		return m
	}
	out, err := cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(base), EndTime: aws.Time(base.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			q("p50", "Latency", dim, "p50"),
			q("p99", "Latency", dim, "p99"),
			q("count", "Latency", dim, "SampleCount"),
			q("batchavg", "Batch", nil, "Average"),
			q("setmin", "Set", nil, "Minimum"),
			q("setavg", "Set", nil, "Average"),
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData() error = %v", err)
	}
	want := map[string]float64{"p50": 150, "p99": 297, "count": 300, "batchavg": 13.0 / 4, "setmin": 2, "setavg": 5}
	for id, r := range resultByID(out) {
		if len(r.Values) != 1 || math.Abs(r.Values[0]-want[id]) > 1e-9 {
			t.Errorf("GetMetricData() %s = %v, want [%v]", id, r.Values, want[id])
		}
	}

	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/SQS"), MetricData: data[:1]}); err == nil {
		t.Errorf("PutMetricData(AWS/SQS) error = nil, want the reserved namespace refused")
	}

	listed, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Test"), Dimensions: []cwtypes.DimensionFilter{{Name: aws.String("Endpoint")}}})
	if err != nil {
		t.Fatalf("ListMetrics() error = %v", err)
	}
	if len(listed.Metrics) != 1 || aws.ToString(listed.Metrics[0].MetricName) != "Latency" || aws.ToString(listed.Metrics[0].Dimensions[0].Value) != "contents" {
		t.Errorf("ListMetrics(Endpoint) = %+v, want only Latency{Endpoint=contents}", listed.Metrics)
	}
	all, err := cw.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Test"), RecentlyActive: cwtypes.RecentlyActivePt3h})
	if err != nil || len(all.Metrics) != 3 {
		t.Errorf("ListMetrics(Test, PT3H) = %d metrics, %v; want 3", len(all.Metrics), err)
	}
}

func TestProtocolChecks(t *testing.T) {
	srv := httptest.NewServer(New().Handler())
	t.Cleanup(srv.Close)
	body := cbor.Encode(cbor.Map{})
	tests := []struct {
		name     string
		path     string
		protocol string
		want     int
		errType  string
	}{
		{"no protocol header", "/service/" + Service + "/operation/ListMetrics", "", http.StatusBadRequest, "com.amazonaws.cloudwatch#InvalidParameterValueException"},
		{"unknown operation", "/service/" + Service + "/operation/DescribeAlarms", "rpc-v2-cbor", http.StatusBadRequest, "com.amazonaws.cloudwatch#UnknownOperationException"},
		{"list metrics", "/service/" + Service + "/operation/ListMetrics", "rpc-v2-cbor", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+tt.path, bytes.NewReader(body))
			if tt.protocol != "" {
				req.Header.Set("Smithy-Protocol", tt.protocol)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Errorf("POST %s status = %d, want %d", tt.path, resp.StatusCode, tt.want)
			}
			if resp.Header.Get("Smithy-Protocol") != "rpc-v2-cbor" || resp.Header.Get("Content-Type") != "application/cbor" {
				t.Errorf("POST %s headers = %v, want rpc-v2-cbor and application/cbor", tt.path, resp.Header)
			}
			v, err := cbor.Decode(raw)
			if err != nil {
				t.Fatalf("answer is not CBOR: %v", err)
			}
			if tt.errType != "" {
				if got := v.(cbor.Map)["__type"]; got != cbor.String(tt.errType) {
					t.Errorf("POST %s __type = %v, want %s", tt.path, got, tt.errType)
				}
			}
		})
	}
}

func TestFauxqsQueueMetrics(t *testing.T) {
	// The inspection answer fauxqs 2.4.1 gives (recorded): one message ready, one in
	// flight, one delayed.
	const sent = int64(1795870173636)
	inspect := http.NewServeMux()
	inspect.HandleFunc("GET /_fauxqs/queues", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `[{"name":"q1","approximateMessageCount":1,"approximateInflightCount":1,"approximateDelayedCount":1}]`)
	})
	inspect.HandleFunc("GET /_fauxqs/queues/q1", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, `{"name":"q1","messages":{"ready":[{"messageId":"b","sentTimestamp":%d}],"delayed":[{"messageId":"c","sentTimestamp":%d}],"inflight":[{"message":{"messageId":"a","sentTimestamp":%d},"receiptHandle":"r"}]}}`,
			sent+200, sent-60_000, sent)
	})
	fq := httptest.NewServer(inspect)
	t.Cleanup(fq.Close)

	s := New()
	now := time.UnixMilli(sent).Add(90 * time.Second)
	s.now = func() time.Time { return now }
	s.WatchFauxqs(fq.URL)
	cw := newClient(t, s)
	q := func(id, name, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/SQS"), MetricName: aws.String(name), Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String("q1")}}},
			Period: aws.Int32(60), Stat: aws.String(stat),
		}}
	}
	// Asking for AWS/SQS takes a sample first.
	out, err := cw.GetMetricData(context.Background(), &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(now.Add(-5 * time.Minute)), EndTime: aws.Time(now.Add(time.Minute)),
		MetricDataQueries: []cwtypes.MetricDataQuery{
			q("age", SQSAgeOfOldestMessage, "Maximum"),
			q("visible", SQSMessagesVisible, "Maximum"),
			q("inflight", SQSMessagesNotVisible, "Maximum"),
			q("delayed", SQSMessagesDelayed, "Maximum"),
		},
	})
	if err != nil {
		t.Fatalf("GetMetricData() error = %v", err)
	}
	// The oldest message not deleted and not delayed is the one in flight.
	want := map[string]float64{"age": 90, "visible": 1, "inflight": 1, "delayed": 1}
	for id, r := range resultByID(out) {
		if len(r.Values) != 1 || r.Values[0] != want[id] {
			t.Errorf("GetMetricData() %s = %v, want [%v]", id, r.Values, want[id])
		}
	}
}

// TestMain stops the fauxqs that the stand-in tests start on first use.
func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

func TestFauxqsInspectionFormat(t *testing.T) {
	// The same against a real fauxqs, so that a change of its inspection format shows.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fq, sq := standin.Fauxqs(t), standin.SQS(t)
	created, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("cwlocal-q")})
	if err != nil {
		t.Fatalf("CreateQueue() error = %v", err)
	}
	if _, err := sq.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: created.QueueUrl, MessageBody: aws.String("one")}); err != nil {
		t.Fatalf("SendMessage() error = %v", err)
	}
	s := New()
	s.WatchFauxqs(fq.URL)
	s.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := s.SampleQueues(ctx); err != nil {
		t.Fatalf("SampleQueues() error = %v", err)
	}
	var age, visible float64 = -1, -1
	for _, m := range s.Metrics() {
		if m.Namespace != "AWS/SQS" || m.Dimensions[0].Value != "cwlocal-q" {
			continue
		}
		ser := s.series[m.key()]
		v := ser.points[len(ser.points)-1].sum
		switch m.Name {
		case SQSAgeOfOldestMessage:
			age = v
		case SQSMessagesVisible:
			visible = v
		}
	}
	if visible != 1 || age < 110 || age > 130 {
		t.Errorf("after one send, visible = %v and age = %v s, want 1 and about 120", visible, age)
	}
	if !strings.HasPrefix(fq.URL, "http://127.0.0.1:") {
		t.Errorf("fauxqs URL = %s, want loopback", fq.URL)
	}
}

// TestMistypedMembers: a member of the wrong type is refused by its name, the first one
// read wins over later ones, and a refused PutMetricData stores nothing.
func TestMistypedMembers(t *testing.T) {
	put := func(s *Server, in object) error { return s.putMetricData(in) }
	list := func(s *Server, in object) error { _, err := s.listMetrics(in); return err }
	get := func(_ *Server, in object) error { _, err := parseMetricDataInput(in); return err }
	ns := cbor.String("N")
	tests := []struct {
		name string
		op   func(*Server, object) error
		in   cbor.Map
		want string
	}{
		{"put: namespace", put, cbor.Map{"Namespace": cbor.Uint(1)}, "Namespace must be a string"},
		{"put: a datum that is not a structure", put,
			cbor.Map{"Namespace": ns, "MetricData": cbor.List{cbor.Map{"MetricName": cbor.String("m"), "Value": cbor.Uint(1)}, cbor.String("x")}},
			"MetricData[1] must be a structure"},
		{"put: the first of two", put,
			cbor.Map{"Namespace": ns, "MetricData": cbor.List{cbor.Map{"MetricName": cbor.Uint(1), "Unit": cbor.Bool(true)}}},
			"MetricName must be a string"},
		{"put: a statistic value", put,
			cbor.Map{"Namespace": ns, "MetricData": cbor.List{cbor.Map{"MetricName": cbor.String("m"), "StatisticValues": cbor.Map{
				"SampleCount": cbor.Uint(1), "Sum": cbor.String("1"), "Minimum": cbor.Uint(1), "Maximum": cbor.Uint(1)}}}},
			"Sum must be a number"},
		{"list: a dimension value", list,
			cbor.Map{"Dimensions": cbor.List{cbor.Map{"Name": cbor.String("a"), "Value": cbor.Uint(2)}}},
			"Value must be a string"},
		{"get: a period", get,
			cbor.Map{"StartTime": encodeTime(base), "EndTime": encodeTime(base.Add(time.Hour)), "MetricDataQueries": cbor.List{cbor.Map{
				"Id": cbor.String("q"), "MetricStat": cbor.Map{"Metric": cbor.Map{"Namespace": ns, "MetricName": cbor.String("m")}, "Period": cbor.String("60")},
			}}},
			"Period must be an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			in, err := input(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.op(s, in)
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.message != tt.want {
				t.Errorf("%s = %v, want a 400 %q", tt.name, err, tt.want)
			}
			if len(s.series) != 0 {
				t.Errorf("%s stored %d series, want none", tt.name, len(s.series))
			}
		})
	}
}
