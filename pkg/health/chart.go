package health

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/repotrackr/github-integration/pkg/metrics"
)

// HourCount is one hour of the status page's chart.
type HourCount struct {
	Start      time.Time `json:"start"`
	Deliveries int64     `json:"deliveries"` // DeliveriesReceived
	Failures   int64     `json:"failures"`   // EventsFailed
}

// Chart is deliveries and failures per hour, oldest first, the last hour being the
// current, unfinished one.
type Chart struct {
	Hours []HourCount `json:"hours"`
}

// Hourly reads deliveries and failures per hour over the last hours hours with one
// GetMetricData call (period 3600).
func (c *Checker) Hourly(ctx context.Context, hours int) (Chart, error) {
	if hours < 1 || hours > 24*14 {
		return Chart{}, fmt.Errorf("hourly chart: %d hours outside 1..336", hours)
	}
	now := c.cfg.Now()
	if ch, ok := c.charts.get(hours, now); ok {
		return ch, nil
	}
	to := now.UTC().Truncate(time.Hour).Add(time.Hour)
	from := to.Add(-time.Duration(hours) * time.Hour)
	q := func(id, name string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(c.cfg.Namespace), MetricName: aws.String(name)},
				Period: aws.Int32(3600),
				Stat:   aws.String("Sum"),
			},
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.CallTimeout)
	defer cancel()
	out, err := c.cw.GetMetricData(ctx, &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from),
		EndTime:   aws.Time(to),
		ScanBy:    cwtypes.ScanByTimestampAscending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			q("deliveries", metrics.DeliveriesReceived),
			q("failures", metrics.EventsFailed),
		},
	})
	if err != nil {
		return Chart{}, fmt.Errorf("hourly chart: get metric data: %w", err)
	}
	ch := Chart{Hours: make([]HourCount, hours)}
	for i := range ch.Hours {
		ch.Hours[i].Start = from.Add(time.Duration(i) * time.Hour)
	}
	for _, res := range out.MetricDataResults {
		for k, ts := range res.Timestamps {
			i := int(ts.Sub(from) / time.Hour)
			if i < 0 || i >= hours || k >= len(res.Values) {
				continue
			}
			n := int64(math.Round(res.Values[k]))
			switch aws.ToString(res.Id) {
			case "deliveries":
				ch.Hours[i].Deliveries += n
			case "failures":
				ch.Hours[i].Failures += n
			}
		}
	}
	c.charts.put(hours, ch, now)
	return ch, nil
}

// chartView is the SVG geometry of a Chart, computed here so that the template only
// places numbers.
type chartView struct {
	Width, Height   int
	PlotX, PlotY    int
	PlotW, PlotH    int
	Bars            []chartBar
	Ticks           []chartTick
	Labels          []chartLabel
	TotalDeliveries int64
	TotalFailures   int64
	Empty           bool
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type chartTick struct {
	Y     float64
	Label string
}

type chartLabel struct {
	X     float64
	Label string
}

// niceCeil rounds up to 1, 2 or 5 times a power of ten, so the axis reads well.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func newChartView(ch Chart) chartView {
	v := chartView{Width: 960, Height: 260, PlotX: 48, PlotY: 12, PlotW: 900, PlotH: 210}
	var top int64
	for _, h := range ch.Hours {
		top = max(top, h.Deliveries, h.Failures)
		v.TotalDeliveries += h.Deliveries
		v.TotalFailures += h.Failures
	}
	v.Empty = top == 0
	scaleTop := max(niceCeil(float64(top)), 2)
	n := len(ch.Hours)
	if n == 0 {
		return v
	}
	group := float64(v.PlotW) / float64(n)
	barW := group * 0.38
	base := float64(v.PlotY + v.PlotH)
	y := func(val int64) (float64, float64) {
		h := float64(val) / scaleTop * float64(v.PlotH)
		return base - h, h
	}
	for i, h := range ch.Hours {
		gx := float64(v.PlotX) + float64(i)*group
		hour := h.Start.UTC().Format("15:04")
		if dy, dh := y(h.Deliveries); h.Deliveries > 0 {
			v.Bars = append(v.Bars, chartBar{X: gx + group*0.1, Y: dy, W: barW, H: dh, Class: "bar-deliveries",
				Title: fmt.Sprintf("%s UTC: %d deliveries", hour, h.Deliveries)})
		}
		if fy, fh := y(h.Failures); h.Failures > 0 {
			v.Bars = append(v.Bars, chartBar{X: gx + group*0.1 + barW, Y: fy, W: barW, H: fh, Class: "bar-failures",
				Title: fmt.Sprintf("%s UTC: %d failures", hour, h.Failures)})
		}
		if i%3 == 0 {
			v.Labels = append(v.Labels, chartLabel{X: gx + group/2, Label: hour})
		}
	}
	for _, f := range []float64{0, 0.5, 1} {
		v.Ticks = append(v.Ticks, chartTick{Y: base - f*float64(v.PlotH), Label: strconv.FormatFloat(f*scaleTop, 'f', -1, 64)})
	}
	return v
}
