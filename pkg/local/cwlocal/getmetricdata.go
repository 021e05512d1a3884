package cwlocal

import (
	"net/http"
	"regexp"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// CloudWatch's limits for one GetMetricData call.
const (
	maxQueries    = 500
	maxDatapoints = 100_800
)

var idPattern = regexp.MustCompile(`^[a-z][a-zA-Z0-9_]*$`)

// dataQuery is one MetricDataQuery.
type dataQuery struct {
	id         string
	label      string
	returnData bool

	// MetricStat
	metric *Metric
	period time.Duration
	stat   statistic
	unit   string

	// Expression
	expr node
}

type metricDataInput struct {
	start, end time.Time
	ascending  bool
	maxPoints  int64
	queries    []dataQuery
}

func parseMetricDataInput(in object) (metricDataInput, error) {
	var req metricDataInput
	start, hasStart := in.timestamp("StartTime")
	end, hasEnd := in.timestamp("EndTime")
	scan, _ := in.str("ScanBy")
	req.maxPoints, _ = in.integer("MaxDatapoints")
	queries := in.objects("MetricDataQueries")
	if err := in.err(); err != nil {
		return req, err
	}
	switch {
	case !hasStart:
		return req, missing("StartTime is required")
	case !hasEnd:
		return req, missing("EndTime is required")
	case !start.Before(end):
		return req, invalid("StartTime must be before EndTime")
	}
	req.start, req.end = start, end
	switch scan {
	case "", "TimestampDescending":
	case "TimestampAscending":
		req.ascending = true
	default:
		return req, invalid("ScanBy must be TimestampDescending or TimestampAscending")
	}
	if len(queries) == 0 {
		return req, missing("MetricDataQueries is required")
	}
	if len(queries) > maxQueries {
		return req, invalid("at most %d MetricDataQueries", maxQueries)
	}
	seen := map[string]bool{}
	for _, o := range queries {
		q, err := parseDataQuery(o)
		if err != nil {
			return req, err
		}
		if seen[q.id] {
			return req, invalid("duplicate Id %q", q.id)
		}
		seen[q.id] = true
		req.queries = append(req.queries, q)
	}
	return req, nil
}

func parseDataQuery(o object) (dataQuery, error) {
	q := dataQuery{returnData: true}
	q.id, _ = o.str("Id")
	q.label, _ = o.str("Label")
	if rd, ok := o.boolean("ReturnData"); ok {
		q.returnData = rd
	}
	stat, hasStat := o.object("MetricStat")
	expr, hasExpr := o.str("Expression")
	if err := o.err(); err != nil {
		return q, err
	}
	if !idPattern.MatchString(q.id) {
		return q, invalid("Id %q must start with a lower-case letter and hold only letters, digits and _", q.id)
	}
	switch {
	case hasStat == hasExpr:
		return q, invalid("query %s needs exactly one of MetricStat and Expression", q.id)
	case hasExpr:
		n, err := parseExpression(expr)
		if err != nil {
			return q, invalid("query %s: expression %q: %v", q.id, expr, err)
		}
		q.expr = n
		return q, nil
	}
	m, hasMetric := stat.object("Metric")
	metric := Metric{Dimensions: m.dimensions("Dimensions")}
	metric.Namespace, _ = m.str("Namespace")
	metric.Name, _ = m.str("MetricName")
	period, hasPeriod := stat.integer("Period")
	name, _ := stat.str("Stat")
	q.unit, _ = stat.str("Unit")
	if err := o.err(); err != nil {
		return q, err
	}
	if !hasMetric {
		return q, missing("query %s: MetricStat.Metric is required", q.id)
	}
	if metric.Namespace == "" || metric.Name == "" {
		return q, missing("query %s: Metric needs Namespace and MetricName", q.id)
	}
	metric.Dimensions = sortDims(metric.Dimensions)
	q.metric = &metric
	if !hasPeriod || !validPeriod(period) {
		return q, invalid("query %s: Period must be 1, 5, 10, 30 or a multiple of 60 seconds", q.id)
	}
	q.period = time.Duration(period) * time.Second
	var ok bool
	if q.stat, ok = parseStat(name); !ok {
		return q, invalid("query %s: unsupported Stat %q", q.id, name)
	}
	return q, nil
}

func validPeriod(p int64) bool {
	switch p {
	case 1, 5, 10, 30:
		return true
	}
	return p > 0 && p%60 == 0
}

// gridFor is the periods CloudWatch reports for a query: from StartTime rounded down
// (to the period for high-resolution periods, to the minute otherwise) up to EndTime.
func gridFor(start, end time.Time, period time.Duration) grid {
	align := time.Minute
	if period < time.Minute {
		align = period
	}
	s := start.Truncate(align)
	n := int((end.Sub(s) + period - 1) / period)
	return grid{start: s, period: period, n: n}
}

func (s *Server) getMetricData(r *http.Request, in object) (cbor.Map, error) {
	req, err := parseMetricDataInput(in)
	if err != nil {
		return nil, err
	}
	total := 0
	for _, q := range req.queries {
		if q.metric != nil {
			total += gridFor(req.start, req.end, q.period).n
		}
	}
	if total > maxDatapoints {
		return nil, invalid("the queries ask for %d datapoints, more than %d", total, maxDatapoints)
	}
	if s.fauxqsURL != "" {
		for _, q := range req.queries {
			if q.metric != nil && q.metric.Namespace == namespaceSQS {
				// A failed sample leaves the last known values, as a delayed metric would.
				_ = s.SampleQueues(r.Context())
				break
			}
		}
	}

	byID := map[string]*dataQuery{}
	for i := range req.queries {
		byID[req.queries[i].id] = &req.queries[i]
	}
	done := map[string]*timeseries{}
	active := map[string]bool{}
	var resolve func(id string) (*timeseries, error)
	resolve = func(id string) (*timeseries, error) {
		if ts, ok := done[id]; ok {
			return ts, nil
		}
		q, ok := byID[id]
		if !ok {
			return nil, invalid("unknown query id %q in an expression", id)
		}
		if active[id] {
			return nil, invalid("query %s refers to itself", id)
		}
		active[id] = true
		defer delete(active, id)
		var ts *timeseries
		if q.metric != nil {
			ts = s.evalStat(*q, gridFor(req.start, req.end, q.period), req.end)
		} else {
			v, err := (&evaluator{resolve: resolve}).eval(q.expr)
			if err != nil {
				if _, isAPI := err.(*apiError); isAPI {
					return nil, err
				}
				return nil, invalid("query %s: %v", id, err)
			}
			if v.series == nil {
				return nil, invalid("query %s: the expression must produce a time series", id)
			}
			ts = v.series
		}
		done[id] = ts
		return ts, nil
	}

	results := cbor.List{}
	returned := 0
	for _, q := range req.queries {
		ts, err := resolve(q.id)
		if err != nil {
			return nil, err
		}
		if !q.returnData {
			continue
		}
		label := q.label
		if label == "" {
			label = q.id
			if q.metric != nil {
				label = q.metric.Name
			}
		}
		stamps, vals := cbor.List{}, cbor.List{}
		for k := range ts.vals {
			i := k
			if !req.ascending {
				i = len(ts.vals) - 1 - k
			}
			if ts.ok[i] {
				stamps = append(stamps, encodeTime(ts.grid.at(i)))
				vals = append(vals, cbor.Float64(ts.vals[i]))
			}
		}
		returned += len(vals)
		results = append(results, cbor.Map{
			"Id":         cbor.String(q.id),
			"Label":      cbor.String(label),
			"StatusCode": cbor.String("Complete"),
			"Timestamps": stamps,
			"Values":     vals,
		})
	}
	if req.maxPoints > 0 && int64(returned) > req.maxPoints {
		return nil, invalid("the answer holds %d datapoints, more than MaxDatapoints %d (the stand-in does not paginate)", returned, req.maxPoints)
	}
	return cbor.Map{"MetricDataResults": results, "Messages": cbor.List{}}, nil
}

// evalStat aggregates the metric's points in each period of g, up to end, with the
// query's statistic.
func (s *Server) evalStat(q dataQuery, g grid, end time.Time) *timeseries {
	buckets := make([][]point, g.n)
	s.mu.Lock()
	if ser, ok := s.series[q.metric.key()]; ok {
		for _, p := range ser.points {
			if p.t.Before(g.start) || !p.t.Before(end) || (q.unit != "" && p.unit != q.unit) {
				continue
			}
			i := int(p.t.Sub(g.start) / g.period)
			buckets[i] = append(buckets[i], p)
		}
	}
	s.mu.Unlock()
	out := newSeries(g)
	for i, ps := range buckets {
		if len(ps) == 0 {
			continue
		}
		if v, ok := q.stat(ps); ok {
			out.set(i, v)
		}
	}
	return out
}
