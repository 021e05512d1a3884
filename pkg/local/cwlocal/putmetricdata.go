package cwlocal

import (
	"math"
	"strings"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// putMetricData stores PutMetricData's datums: a Value, Values with Counts, or a
// StatisticValues set.
func (s *Server) putMetricData(in object) error {
	ns, _ := in.str("Namespace")
	list := in.objects("MetricData")
	if err := in.err(); err != nil {
		return err
	}
	if ns == "" {
		return missing("Namespace is required")
	}
	if strings.HasPrefix(ns, "AWS/") {
		return invalid("the namespace AWS/ is reserved for AWS services")
	}
	if len(list) == 0 {
		return missing("MetricData is required")
	}
	if len(list) > 1000 {
		return invalid("at most 1000 MetricData per call")
	}
	type datum struct {
		m Metric
		p point
	}
	data := make([]datum, 0, len(list))
	now := s.now().UTC()
	for _, d := range list {
		m := Metric{Namespace: ns, Dimensions: d.dimensions("Dimensions")}
		m.Name, _ = d.str("MetricName")
		t, ok := d.timestamp("Timestamp")
		unit, _ := d.str("Unit")
		if err := in.err(); err != nil {
			return err
		}
		if m.Name == "" {
			return missing("MetricName is required")
		}
		if !ok {
			t = now
		}
		p, err := datumPoint(d, t, unit)
		if err != nil {
			return err
		}
		data = append(data, datum{m, p})
	}
	for _, d := range data {
		s.put(d.m, d.p)
	}
	return nil
}

// datumPoint reads the one form of value a MetricDatum carries.
func datumPoint(d object, t time.Time, unit string) (point, error) {
	value, hasValue := d.number("Value")
	vl, hasValues := d.list("Values")
	cl, hasCounts := d.list("Counts")
	set, hasSet := d.object("StatisticValues")
	if err := d.err(); err != nil {
		return point{}, err
	}
	forms := 0
	for _, has := range []bool{hasValue, hasValues, hasSet} {
		if has {
			forms++
		}
	}
	if forms != 1 {
		return point{}, invalid("a MetricDatum needs exactly one of Value, Values and StatisticValues")
	}
	switch {
	case hasValue:
		if math.IsNaN(value) || math.IsInf(value, 0) {
			return point{}, invalid("Value must be a finite number")
		}
		return rawPoint(t, unit, []float64{value}, nil), nil
	case hasValues:
		values, err := numbers(vl, "Values")
		if err != nil {
			return point{}, err
		}
		var counts []float64
		if hasCounts {
			if counts, err = numbers(cl, "Counts"); err != nil {
				return point{}, err
			}
			if len(counts) != len(values) {
				return point{}, invalid("Counts must be as long as Values")
			}
		}
		if len(values) == 0 {
			return point{}, invalid("Values must not be empty")
		}
		return rawPoint(t, unit, values, counts), nil
	}
	p := point{t: t, unit: unit}
	for name, dst := range map[string]*float64{"SampleCount": &p.count, "Sum": &p.sum, "Minimum": &p.min, "Maximum": &p.max} {
		v, ok := set.number(name)
		if err := set.err(); err != nil {
			return point{}, err
		}
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			return point{}, invalid("StatisticValues needs finite SampleCount, Sum, Minimum and Maximum")
		}
		*dst = v
	}
	if p.count <= 0 {
		return point{}, invalid("StatisticValues.SampleCount must be positive")
	}
	return p, nil
}

func numbers(l []cbor.Value, what string) ([]float64, error) {
	out := make([]float64, 0, len(l))
	for _, v := range l {
		f, err := cbor.AsFloat64(v)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, invalid("%s must hold finite numbers", what)
		}
		out = append(out, f)
	}
	return out, nil
}
