package metrics

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	e := New(&buf, "")
	e.now = func() time.Time { return time.UnixMilli(1700000000000) }
	e.Emit(DimReason, "bad_signature", map[string]any{"github_delivery_id": "d1"}, Count(DeliveriesRejected, 1))

	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []directive
		} `json:"_aws"`
		Reason   string
		Rejected float64 `json:"DeliveriesRejected"`
		Delivery string  `json:"github_delivery_id"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("Emit() wrote %q, not JSON: %v", buf.String(), err)
	}
	if got.AWS.Timestamp != 1700000000000 || got.Reason != "bad_signature" || got.Rejected != 1 || got.Delivery != "d1" {
		t.Errorf("Emit() = %s", buf.String())
	}
	d := got.AWS.CloudWatchMetrics[0]
	if d.Namespace != DefaultNamespace || len(d.Dimensions) != 2 || len(d.Dimensions[0]) != 0 || d.Dimensions[1][0] != DimReason {
		t.Errorf("Emit() directive = %+v, want namespace %s and dimension sets [] and [Reason]", d, DefaultNamespace)
	}
	if d.Metrics[0].Name != DeliveriesRejected || d.Metrics[0].Unit != UnitCount {
		t.Errorf("Emit() metrics = %+v", d.Metrics)
	}
}

func TestEmitNothing(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "x").Emit("", "", nil)
	var nilEmitter *Emitter
	nilEmitter.Emit("", "", nil, Count("a", 1))
	if buf.Len() != 0 {
		t.Errorf("Emit() with no metric wrote %q, want nothing", buf.String())
	}
}

// referenceEmit is the line encoding/json gives for the EMF map, which Emit writes
// without the map: the names sorted, a later member replacing an earlier one.
func referenceEmit(namespace string, ts int64, dimName, dimValue string, props map[string]any, ms ...Metric) string {
	line := map[string]any{}
	for k, v := range props {
		line[k] = v
	}
	dims := [][]string{{}}
	if dimName != "" {
		dims = append(dims, []string{dimName})
		line[dimName] = dimValue
	}
	defs := []metricDef{}
	for _, m := range ms {
		defs = append(defs, metricDef{Name: m.Name, Unit: m.Unit})
		line[m.Name] = m.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp":         ts,
		"CloudWatchMetrics": []directive{{Namespace: namespace, Dimensions: dims, Metrics: defs}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return ""
	}
	return string(b) + "\n"
}

func TestEmitMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name              string
		namespace         string
		dimName, dimValue string
		props             map[string]any
		ms                []Metric
	}{
		{"ingest queued", "", DimEventType, "push", map[string]any{"github_delivery_id": "0b5e-11ef"},
			[]Metric{Count(DeliveriesReceived, 1), Count(DeliveriesQueued, 1), Milliseconds(IngestLatency, 1234567*time.Nanosecond)}},
		{"no dimension, no props", "Other/NS", "", "", nil, []Metric{Count(DeliveriesRedelivered, 3)}},
		{"escaped strings", "a<b>&\"c\"", DimReason, "<tag>&\u2028\x01é\xff", map[string]any{"k\"ey": "v\\al\n"},
			[]Metric{Count("Mé<tric>", 2)}},
		{"props of other types", "", DimEndpoint, "GET /repos", map[string]any{"github_status": 404, "ok": true, "list": []int{1, 2}, "nil": nil, "f": 1.5},
			[]Metric{Count(GitHubAPICalls, 1)}},
		{"floats in e form", "", "", "", nil, []Metric{Count("tiny", 1e-7), Count("huge", 1e22), Count("neg", -0.25), Count("zero", 0)}},
		{"a prop replaced by the dimension and a metric", "", DimEventType, "push", map[string]any{DimEventType: "x", "M": "y"},
			[]Metric{Count("M", 1), Count("M", 2)}},
		{"a prop named _aws", "", "", "", map[string]any{"_aws": "x", "_b": 1}, []Metric{Count("A", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			e := New(&buf, tt.namespace)
			e.now = func() time.Time { return time.UnixMilli(1700000000123) }
			e.Emit(tt.dimName, tt.dimValue, tt.props, tt.ms...)
			want := referenceEmit(e.Namespace(), 1700000000123, tt.dimName, tt.dimValue, tt.props, tt.ms...)
			if buf.String() != want {
				t.Errorf("Emit() = %s, want %s", buf.String(), want)
			}
		})
	}
}

func TestEmitDropsUnencodableLine(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "").Emit("", "", nil, Count("nan", math.NaN()))
	if buf.Len() != 0 {
		t.Errorf("Emit(NaN) wrote %q, want nothing (encoding/json refuses NaN)", buf.String())
	}
}

func BenchmarkEmit(b *testing.B) {
	e := New(io.Discard, "")
	props := map[string]any{"github_delivery_id": "0b5e3c1e-11ef-9a7b-8e2f-5d2b1c0a9f11"}
	b.ReportAllocs()
	for b.Loop() {
		e.Emit(DimEventType, "push", props, Count(DeliveriesReceived, 1), Count(DeliveriesQueued, 1), Milliseconds(IngestLatency, 1234*time.Microsecond))
	}
}
