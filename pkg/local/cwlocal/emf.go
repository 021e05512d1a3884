package cwlocal

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"sync"
	"time"
)

// emfDirective is one entry of _aws.CloudWatchMetrics in an EMF line.
type emfDirective struct {
	Namespace  string     `json:"Namespace"`
	Dimensions [][]string `json:"Dimensions"`
	Metrics    []struct {
		Name string `json:"Name"`
		Unit string `json:"Unit"`
	} `json:"Metrics"`
}

type emfMetadata struct {
	Timestamp         *int64         `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// Ingest turns one line of a function's output into metrics, as CloudWatch Logs does
// with Embedded Metric Format: for each directive of _aws.CloudWatchMetrics, each metric
// is recorded once per dimension set, with the dimension values taken from the line's
// fields. Lines that are not EMF (log lines, runtime messages) are ignored, and so is a
// dimension set whose values are missing, as CloudWatch does.
func (s *Server) Ingest(line []byte) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' || !bytes.Contains(line, []byte(`"_aws"`)) {
		return
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(line, &fields) != nil {
		return
	}
	var meta emfMetadata
	if raw, ok := fields["_aws"]; !ok || json.Unmarshal(raw, &meta) != nil {
		return
	}
	t := s.now().UTC()
	if meta.Timestamp != nil {
		t = time.UnixMilli(*meta.Timestamp).UTC()
	}
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace == "" {
			continue
		}
		for _, set := range d.Dimensions {
			dims, ok := dimensionValues(fields, set)
			if !ok {
				continue
			}
			for _, m := range d.Metrics {
				values, ok := metricValues(fields[m.Name])
				if !ok {
					continue
				}
				s.put(Metric{Namespace: d.Namespace, Name: m.Name, Dimensions: dims}, rawPoint(t, m.Unit, values, nil))
			}
		}
	}
}

func dimensionValues(fields map[string]json.RawMessage, names []string) ([]Dimension, bool) {
	dims := make([]Dimension, 0, len(names))
	for _, n := range names {
		var v string
		raw, ok := fields[n]
		if !ok || json.Unmarshal(raw, &v) != nil {
			return nil, false
		}
		dims = append(dims, Dimension{Name: n, Value: v})
	}
	return dims, true
}

// metricValues reads a metric's value: a number, or an array of numbers (EMF allows up
// to 100 values in one line).
func metricValues(raw json.RawMessage) ([]float64, bool) {
	if raw == nil {
		return nil, false
	}
	var one float64
	if json.Unmarshal(raw, &one) == nil {
		if math.IsNaN(one) || math.IsInf(one, 0) {
			return nil, false
		}
		return []float64{one}, true
	}
	var many []float64
	if json.Unmarshal(raw, &many) != nil || len(many) == 0 {
		return nil, false
	}
	return many, true
}

// maxLine bounds a buffered line: longer output without a newline is dropped, since
// CloudWatch Logs would cut it (256 KB events) and it cannot be EMF anyway.
const maxLine = 1 << 20

// LineWriter returns a writer that feeds each complete line written to it to Ingest, for
// teeing a process's output into the Server. Each output stream needs its own writer;
// a writer is safe for concurrent use.
func (s *Server) LineWriter() io.Writer { return &lineWriter{s: s} }

type lineWriter struct {
	s    *Server
	mu   sync.Mutex
	buf  []byte
	skip bool // dropping the rest of an over-long line
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			if !w.skip {
				w.buf = append(w.buf, p...)
				if len(w.buf) > maxLine {
					w.buf, w.skip = w.buf[:0], true
				}
			}
			break
		}
		if !w.skip {
			w.buf = append(w.buf, p[:i]...)
			w.s.Ingest(w.buf)
		}
		w.buf, w.skip = w.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}
