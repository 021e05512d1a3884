package cwlocal

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Dimension is one name/value pair of a metric's identity.
type Dimension struct {
	Name  string
	Value string
}

// Metric identifies a time series as CloudWatch does: namespace, name and the full set
// of dimensions. A query for a metric without dimensions matches only the series that
// has none, which is why EMF lines declare the empty dimension set for totals.
type Metric struct {
	Namespace  string
	Name       string
	Dimensions []Dimension // sorted by name
}

func (m Metric) key() string {
	var b strings.Builder
	b.WriteString(m.Namespace)
	b.WriteByte(0)
	b.WriteString(m.Name)
	for _, d := range m.Dimensions {
		b.WriteByte(0)
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

func sortDims(dims []Dimension) []Dimension {
	out := slices.Clone(dims)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// point is one datapoint as put: either raw values (each with a count, as EMF and
// PutMetricData Values/Counts give them) or a statistic set.
type point struct {
	t      time.Time
	unit   string
	count  float64
	sum    float64
	min    float64
	max    float64
	values []float64 // raw values, for percentiles; nil for statistic sets
	counts []float64
}

func rawPoint(t time.Time, unit string, values, counts []float64) point {
	p := point{t: t, unit: unit, min: math.Inf(1), max: math.Inf(-1), values: values, counts: counts}
	for i, v := range values {
		c := 1.0
		if counts != nil {
			c = counts[i]
		}
		p.count += c
		p.sum += v * c
		p.min = math.Min(p.min, v)
		p.max = math.Max(p.max, v)
	}
	return p
}

type series struct {
	metric Metric
	points []point
}

// maxPoints bounds the memory of one series; the oldest points go first.
const maxPoints = 200_000

// retention is how long points are kept, as CloudWatch keeps one-minute data.
const retention = 15 * 24 * time.Hour

func (s *series) add(p point, now time.Time) {
	s.points = append(s.points, p)
	if len(s.points) <= maxPoints {
		return
	}
	cut := now.Add(-retention)
	kept := s.points[:0]
	for _, q := range s.points {
		if q.t.After(cut) {
			kept = append(kept, q)
		}
	}
	if len(kept) > maxPoints {
		kept = kept[len(kept)-maxPoints:]
	}
	s.points = slices.Clip(kept)
}

// statistic aggregates the points of one period.
type statistic func(ps []point) (float64, bool)

// total is the statistic adding up one figure of the points.
func total(figure func(point) float64) statistic {
	return func(ps []point) (float64, bool) {
		var t float64
		for _, p := range ps {
			t += figure(p)
		}
		return t, true
	}
}

// parseStat understands CloudWatch's statistics Sum, SampleCount, Average, Minimum,
// Maximum and percentiles pNN(.NN).
func parseStat(name string) (statistic, bool) {
	switch name {
	case "Sum":
		return total(func(p point) float64 { return p.sum }), true
	case "SampleCount":
		return total(func(p point) float64 { return p.count }), true
	case "Average":
		return func(ps []point) (float64, bool) {
			var s, c float64
			for _, p := range ps {
				s += p.sum
				c += p.count
			}
			return s / c, c > 0
		}, true
	case "Minimum":
		return func(ps []point) (float64, bool) {
			m := math.Inf(1)
			for _, p := range ps {
				m = math.Min(m, p.min)
			}
			return m, !math.IsInf(m, 1)
		}, true
	case "Maximum":
		return func(ps []point) (float64, bool) {
			m := math.Inf(-1)
			for _, p := range ps {
				m = math.Max(m, p.max)
			}
			return m, !math.IsInf(m, -1)
		}, true
	}
	if len(name) > 1 && name[0] == 'p' {
		q, err := strconv.ParseFloat(name[1:], 64)
		if err != nil || q < 0 || q > 100 {
			return nil, false
		}
		return func(ps []point) (float64, bool) { return percentile(ps, q) }, true
	}
	return nil, false
}

// percentile is the nearest-rank percentile of the raw values (statistic sets, which
// carry no values, do not take part).
func percentile(ps []point, q float64) (float64, bool) {
	type wv struct{ v, c float64 }
	var all []wv
	var total float64
	for _, p := range ps {
		for i, v := range p.values {
			c := 1.0
			if p.counts != nil {
				c = p.counts[i]
			}
			all = append(all, wv{v, c})
			total += c
		}
	}
	if total == 0 {
		return 0, false
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	rank := math.Ceil(q / 100 * total)
	var seen float64
	for _, x := range all {
		seen += x.c
		if seen >= rank {
			return x.v, true
		}
	}
	return all[len(all)-1].v, true
}
