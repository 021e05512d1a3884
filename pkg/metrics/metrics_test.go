package metrics

import (
	"bytes"
	"encoding/json"
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
