package cwlocal

import (
	"fmt"
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
	var ok bool
	var err error
	if req.start, ok, err = in.timestamp("StartTime"); err != nil {
		return req, err
	} else if !ok {
		return req, missing("StartTime is required")
	}
	if req.end, ok, err = in.timestamp("EndTime"); err != nil {
		return req, err
	} else if !ok {
		return req, missing("EndTime is required")
	}
	if !req.start.Before(req.end) {
		return req, invalid("StartTime must be before EndTime")
	}
	scan, _, err := in.str("ScanBy")
	if err != nil {
		return req, err
	}
	switch scan {
	case "", "TimestampDescending":
	case "TimestampAscending":
		req.ascending = true
	default:
		return req, invalid("ScanBy must be TimestampDescending or TimestampAscending")
	}
	if req.maxPoints, _, err = in.integer("MaxDatapoints"); err != nil {
		return req, err
	}
	list, _, err := in.list("MetricDataQueries")
	if err != nil {
		return req, err
	}
	if len(list) == 0 {
		return req, missing("MetricDataQueries is required")
	}
	if len(list) > maxQueries {
		return req, invalid("at most %d MetricDataQueries", maxQueries)
	}
	seen := map[string]bool{}
	for i, v := range list {
		q, err := parseDataQuery(v, i)
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

func parseDataQuery(v cbor.Value, i int) (dataQuery, error) {
	o, err := asObject(v, fmt.Sprintf("MetricDataQueries[%d]", i))
	if err != nil {
		return dataQuery{}, err
	}
	q := dataQuery{returnData: true}
	if q.id, _, err = o.str("Id"); err != nil {
		return q, err
	}
	if !idPattern.MatchString(q.id) {
		return q, invalid("Id %q must start with a lower-case letter and hold only letters, digits and _", q.id)
	}
	if q.label, _, err = o.str("Label"); err != nil {
		return q, err
	}
	if rd, ok, err := o.boolean("ReturnData"); err != nil {
		return q, err
	} else if ok {
		q.returnData = rd
	}
	stat, hasStat, err := o.object("MetricStat")
	if err != nil {
		return q, err
	}
	expr, hasExpr, err := o.str("Expression")
	if err != nil {
		return q, err
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
	m, ok, err := stat.object("Metric")
	if err != nil {
		return q, err
	} else if !ok {
		return q, missing("query %s: MetricStat.Metric is required", q.id)
	}
	metric := Metric{}
	if metric.Namespace, _, err = m.str("Namespace"); err != nil {
		return q, err
	}
	if metric.Name, _, err = m.str("MetricName"); err != nil {
		return q, err
	}
	if metric.Namespace == "" || metric.Name == "" {
		return q, missing("query %s: Metric needs Namespace and MetricName", q.id)
	}
	if metric.Dimensions, err = m.dimensions("Dimensions"); err != nil {
		return q, err
	}
	metric.Dimensions = sortDims(metric.Dimensions)
	q.metric = &metric
	period, ok, err := stat.integer("Period")
	if err != nil {
		return q, err
	}
	if !ok || !validPeriod(period) {
		return q, invalid("query %s: Period must be 1, 5, 10, 30 or a multiple of 60 seconds", q.id)
	}
	q.period = time.Duration(period) * time.Second
	name, _, err := stat.str("Stat")
	if err != nil {
		return q, err
	}
	if q.stat, ok = parseStat(name); !ok {
		return q, invalid("query %s: unsupported Stat %q", q.id, name)
	}
	if q.unit, _, err = stat.str("Unit"); err != nil {
		return q, err
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
