package cwlocal

import (
	"sort"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// listMetrics answers ListMetrics with its filters: namespace, metric name, dimension
// filters (a name, optionally with a value) and RecentlyActive PT3H. It answers in one
// page.
func (s *Server) listMetrics(in object) (cbor.Map, error) {
	ns, _ := in.str("Namespace")
	name, _ := in.str("MetricName")
	recent, _ := in.str("RecentlyActive")
	type filter struct {
		name, value string
		hasValue    bool
	}
	var fs []filter
	for _, o := range in.objects("Dimensions") {
		var f filter
		f.name, _ = o.str("Name")
		f.value, f.hasValue = o.str("Value")
		fs = append(fs, f)
	}
	if err := in.err(); err != nil {
		return nil, err
	}
	if recent != "" && recent != "PT3H" {
		return nil, invalid("RecentlyActive must be PT3H")
	}
	cutoff := s.now().Add(-3 * time.Hour)

	s.mu.Lock()
	var found []Metric
	for _, ser := range s.series {
		m := ser.metric
		if (ns != "" && m.Namespace != ns) || (name != "" && m.Name != name) {
			continue
		}
		if recent != "" && !activeSince(ser, cutoff) {
			continue
		}
		match := true
		for _, f := range fs {
			has := false
			for _, d := range m.Dimensions {
				if d.Name == f.name && (!f.hasValue || d.Value == f.value) {
					has = true
				}
			}
			match = match && has
		}
		if match {
			found = append(found, m)
		}
	}
	s.mu.Unlock()

	sort.Slice(found, func(i, j int) bool { return found[i].key() < found[j].key() })
	out := make(cbor.List, 0, len(found))
	for _, m := range found {
		out = append(out, cbor.Map{
			"Namespace":  cbor.String(m.Namespace),
			"MetricName": cbor.String(m.Name),
			"Dimensions": encodeDimensions(m.Dimensions),
		})
	}
	return cbor.Map{"Metrics": out}, nil
}

// activeSince reports whether the series has a point after cutoff. Points arrive
// roughly in time order, so the newest are at the end.
func activeSince(ser *series, cutoff time.Time) bool {
	for i := len(ser.points) - 1; i >= 0; i-- {
		if ser.points[i].t.After(cutoff) {
			return true
		}
	}
	return false
}
