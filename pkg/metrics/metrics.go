// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines to stdout, which
// Lambda ships to CloudWatch Logs and CloudWatch turns into metrics, so that no function
// calls PutMetricData on its hot path.
//
// Every metric the functions emit is listed in ../health/README.md.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// DefaultNamespace is the CloudWatch namespace of every RepoTrackr metric.
const DefaultNamespace = "RepoTrackr/GitHub"

// Metric names. Each is emitted with no dimension (the total, which the health function
// and the alarms read) and with the dimension named beside it.
const (
	DeliveriesReceived = "DeliveriesReceived" // ingest; dimension EventType
	DeliveriesQueued   = "DeliveriesQueued"   // ingest; dimension EventType
	DeliveriesRejected = "DeliveriesRejected" // ingest; dimension Reason
	IngestLatency      = "IngestLatency"      // ingest, milliseconds; no dimension

	EventsProcessed   = "EventsProcessed"   // processor; dimension EventType
	EventsIgnored     = "EventsIgnored"     // processor; dimension EventType
	EventsDuplicate   = "EventsDuplicate"   // processor; dimension EventType
	EventsFailed      = "EventsFailed"      // processor; dimension EventType
	ProcessingLatency = "ProcessingLatency" // processor, milliseconds from receipt to done; dimension EventType

	GitHubAPICalls  = "GitHubAPICalls"  // any function calling GitHub; dimension Endpoint
	GitHubAPIErrors = "GitHubAPIErrors" // any function calling GitHub; dimension Endpoint

	DeliveriesRedelivered = "DeliveriesRedelivered" // redeliver job: redeliveries requested
	RedeliveriesAbandoned = "RedeliveriesAbandoned" // redeliver job: deliveries given up after too many attempts
	RedeliveryErrors      = "RedeliveryErrors"      // redeliver job: redelivery requests GitHub refused
)

// Dimension names.
const (
	DimEventType = "EventType"
	DimReason    = "Reason"
	DimEndpoint  = "Endpoint"
)

// Units.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Metric is one value.
type Metric struct {
	Name  string
	Value float64
	Unit  string
}

// Count is a Count metric.
func Count(name string, v float64) Metric { return Metric{Name: name, Value: v, Unit: UnitCount} }

// Milliseconds is a duration metric.
func Milliseconds(name string, d time.Duration) Metric {
	return Metric{Name: name, Value: float64(d.Microseconds()) / 1000, Unit: UnitMilliseconds}
}

// Emitter writes EMF lines. It is safe for concurrent use.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// New returns an Emitter writing to w (os.Stdout in a function) under namespace
// (DefaultNamespace when empty).
func New(w io.Writer, namespace string) *Emitter {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

// Namespace returns the CloudWatch namespace the Emitter writes to.
func (e *Emitter) Namespace() string { return e.namespace }

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

// Emit writes one EMF line with the metrics, aggregated both without dimensions and by
// the dimension given (dimName may be empty for none). props are extra searchable fields
// of the log line (for example github_delivery_id); they never become dimensions.
func (e *Emitter) Emit(dimName, dimValue string, props map[string]any, ms ...Metric) {
	if e == nil || len(ms) == 0 {
		return
	}
	line := make(map[string]any, len(ms)+len(props)+2)
	for k, v := range props {
		line[k] = v
	}
	dims := [][]string{{}}
	if dimName != "" {
		dims = append(dims, []string{dimName})
		line[dimName] = dimValue
	}
	defs := make([]metricDef, 0, len(ms))
	for _, m := range ms {
		defs = append(defs, metricDef{Name: m.Name, Unit: m.Unit})
		line[m.Name] = m.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp":         e.now().UnixMilli(),
		"CloudWatchMetrics": []directive{{Namespace: e.namespace, Dimensions: dims, Metrics: defs}},
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}
