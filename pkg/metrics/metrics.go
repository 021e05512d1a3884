// Package metrics writes CloudWatch Embedded Metric Format (EMF) lines to stdout, which
// Lambda ships to CloudWatch Logs and CloudWatch turns into metrics, so that no function
// calls PutMetricData on its hot path.
//
// Every metric the functions emit is listed in ../health/README.md.
package metrics

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// The line is the JSON encoding/json gives for a map of these members (sorted names,
	// a later member replacing an earlier one of the same name), written without the
	// map and reflection: a function writes one per request, and encoding/json spent
	// about a tenth of the ingest handler's time on a small delivery on it.
	var store [8]member
	mems := store[:0]
	set := func(name string, v any) {
		for i := range mems {
			if mems[i].name == name {
				mems[i].v = v
				return
			}
		}
		mems = append(mems, member{name, v})
	}
	for k, v := range props {
		set(k, v)
	}
	if dimName != "" {
		set(dimName, dimValue)
	}
	for _, m := range ms {
		set(m.Name, m.Value)
	}
	set("_aws", awsMember{})
	slices.SortFunc(mems, func(a, b member) int { return strings.Compare(a.name, b.name) })

	b := make([]byte, 0, 512)
	b = append(b, '{')
	for i, m := range mems {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendValue(appendString(b, m.name), m.v); err != nil {
			return
		}
		if _, ok := m.v.(awsMember); ok {
			b = e.appendAWS(b, dimName, ms)
		}
	}
	b = append(b, '}', '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = e.w.Write(b)
}

// member is one name and value of an EMF line.
type member struct {
	name string
	v    any
}

// awsMember stands for the "_aws" member, which appendAWS writes.
type awsMember struct{}

// appendAWS writes the EMF directive as encoding/json writes the map
// {"CloudWatchMetrics": []directive{...}, "Timestamp": ms}.
func (e *Emitter) appendAWS(b []byte, dimName string, ms []Metric) []byte {
	b = append(b, `{"CloudWatchMetrics":[{"Namespace":`...)
	b = appendString(b, e.namespace)
	b = append(b, `,"Dimensions":[[]`...)
	if dimName != "" {
		b = append(b, ",["...)
		b = appendString(b, dimName)
		b = append(b, ']')
	}
	b = append(b, `],"Metrics":[`...)
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"Name":`...)
		b = appendString(b, m.Name)
		b = append(b, `,"Unit":`...)
		b = appendString(b, m.Unit)
		b = append(b, '}')
	}
	b = append(b, `]}],"Timestamp":`...)
	b = strconv.AppendInt(b, e.now().UnixMilli(), 10)
	return append(b, '}')
}

// appendValue appends v as encoding/json encodes it: strings of plain ASCII and finite
// numbers directly, anything else through json.Marshal. The "_aws" member is left to
// the caller.
func appendValue(b []byte, v any) ([]byte, error) {
	b = append(b, ':')
	switch v := v.(type) {
	case awsMember:
		return b, nil
	case string:
		return appendString(b, v), nil
	case float64:
		// encoding/json writes a float in this range with 'f', others in 'e' form.
		if a := math.Abs(v); a == 0 || (a >= 1e-6 && a < 1e21) {
			return strconv.AppendFloat(b, v, 'f', -1, 64), nil
		}
	}
	j, err := json.Marshal(v)
	return append(b, j...), err
}

// appendString appends s quoted as encoding/json quotes it: printable ASCII other than
// the characters it escapes (", \, <, >, &) as is, anything else through json.Marshal.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always encodes
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
