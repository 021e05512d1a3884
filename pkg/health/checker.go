package health

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"path"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// MetricReader is the CloudWatch call the checker makes; *cloudwatch.Client has it.
type MetricReader interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// QueueReader is the SQS call the checker makes; *sqs.Client has it.
type QueueReader interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, optFns ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// RecentEvents gives the newest entries of the webhook event log; *store.Store has it.
type RecentEvents interface {
	LatestEvents(ctx context.Context, n int) ([]store.Event, error)
}

// Statuses.
const (
	StatusHealthy   = "healthy"
	StatusDegraded  = "degraded"
	StatusUnhealthy = "unhealthy"
)

// Check outcomes.
const (
	CheckOK      = "ok"
	CheckWarn    = "warn"    // makes the status degraded
	CheckFail    = "fail"    // makes the status unhealthy
	CheckUnknown = "unknown" // the source could not be read: degraded, never healthy
)

// Windows are the windows the routes serve (?window=1h, 6h or 24h); a day is the
// longest window whose single period still answers quickly.
var Windows = []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour}

// DefaultWindow is the window when the query names none.
const DefaultWindow = time.Hour

// Check is one criterion of the status.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Report is the health of the pipeline over a window. Counts are null when their
// source could not be read.
type Report struct {
	Status        string    `json:"status"`
	Window        string    `json:"window"`
	WindowSeconds int64     `json:"window_seconds"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	// SuccessRate is (processed + ignored) ÷ total over the window; null when no
	// delivery was handled (nothing to judge) or the metrics could not be read.
	SuccessRate *float64 `json:"success_rate"`
	// TotalEvents and FailedEvents cover the window (one hour unless ?window= says
	// otherwise); the names are the design's. Total is processed + ignored + failed:
	// every delivery handled, whatever its outcome; duplicates and deliveries still
	// queued are not counted.
	TotalEvents             *int64     `json:"total_events_last_hour"`
	FailedEvents            *int64     `json:"failed_events_last_hour"`
	ProcessedEvents         *int64     `json:"processed_events"`
	IgnoredEvents           *int64     `json:"ignored_events"`
	DuplicateEvents         *int64     `json:"duplicate_events"` // seen again after done; not in the total
	ReceivedDeliveries      *int64     `json:"received_deliveries"`
	RejectedDeliveries      *int64     `json:"rejected_deliveries"`
	IngestErrors            *int64     `json:"ingest_errors"` // deliveries answered 5xx (enqueue failed, internal error)
	DLQDepth                *int64     `json:"dlq_depth"`
	QueueDepth              *int64     `json:"queue_depth"`     // messages waiting
	QueueInFlight           *int64     `json:"queue_in_flight"` // messages being processed
	OldestMessageAgeSeconds *int64     `json:"oldest_message_age_seconds"`
	LastEventAt             *time.Time `json:"last_event_at"`
	Checks                  []Check    `json:"checks"`
	Reasons                 []string   `json:"reasons"`
	CheckedAt               time.Time  `json:"checked_at"`
}

// Config configures a Checker.
type Config struct {
	// Namespace of the metrics (metrics.DefaultNamespace when empty).
	Namespace string
	// QueueURL and DLQURL are the events queue and its dead-letter queue.
	QueueURL string
	DLQURL   string
	// Thresholds (zero value: DefaultThresholds).
	Thresholds Thresholds
	// CacheTTL keeps a report and a rendered status page per window for that long, so
	// that a public route cannot turn every request into paid CloudWatch and DynamoDB
	// calls; 0 disables the cache.
	CacheTTL time.Duration
	// CallTimeout bounds each backend call, so that a hanging one ends in "unknown"
	// instead of a function timeout (default 4s).
	CallTimeout time.Duration
	Log         *slog.Logger
	Now         func() time.Time
}

// Checker computes Reports. It is safe for concurrent use.
type Checker struct {
	cfg       Config
	cw        MetricReader
	sqs       QueueReader
	events    RecentEvents
	queueName string

	reports *ttlCache[time.Duration, Report]
	charts  *ttlCache[int, Chart]
	pages   *ttlCache[time.Duration, cachedPage]
}

type cachedPage struct {
	body   []byte
	report Report
}

// NewChecker returns a Checker over the given clients. events may be nil when there is
// no event log to read (last_event_at is then null and not checked).
func NewChecker(cfg Config, cw MetricReader, q QueueReader, events RecentEvents) *Checker {
	if cfg.Namespace == "" {
		cfg.Namespace = metrics.DefaultNamespace
	}
	if cfg.Thresholds == (Thresholds{}) {
		cfg.Thresholds = DefaultThresholds()
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = 4 * time.Second
	}
	cfg.Log = logging.OrDiscard(cfg.Log)
	cfg.Now = config.NowOr(cfg.Now)
	return &Checker{
		cfg: cfg, cw: cw, sqs: q, events: events,
		queueName: QueueName(cfg.QueueURL),
		reports:   newTTLCache[time.Duration, Report](cfg.CacheTTL),
		charts:    newTTLCache[int, Chart](cfg.CacheTTL),
		pages:     newTTLCache[time.Duration, cachedPage](cfg.CacheTTL),
	}
}

// QueueName is the name of the queue at an SQS queue URL (its last path element), the
// QueueName dimension of the AWS/SQS metrics.
func QueueName(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil || u.Path == "" {
		return ""
	}
	return path.Base(u.Path)
}

// Query ids of the health GetMetricData call.
const (
	idProcessed      = "processed"
	idIgnored        = "ignored"
	idDuplicate      = "duplicate"
	idFailed         = "failed"
	idReceived       = "received"
	idRejected       = "rejected"
	idEnqueueFailed  = "enqueue_failed"
	idIngestInternal = "ingest_internal"
	idQueueAge       = "queue_age"
	idSuccessRate    = "success_rate"
)

// SuccessRateExpression is the metric math of the success rate: a delivery processed or
// correctly ignored is a success. FILL makes a window with failures and no success (or
// the reverse) still have a value; with neither, the division by zero leaves no value,
// which reads as "nothing to judge".
const SuccessRateExpression = "(FILL(processed, 0) + FILL(ignored, 0)) / (FILL(processed, 0) + FILL(ignored, 0) + FILL(failed, 0))"

// metricQueries is the one GetMetricData call of a check: the window's sums of the
// pipeline's counters (the totals, without dimensions), the ingest 5xx counts by reason,
// the queue's oldest-message age per minute, and the success rate as an expression.
func (c *Checker) metricQueries(from, to time.Time) *cloudwatch.GetMetricDataInput {
	period := int32(to.Sub(from) / time.Second)
	sum := func(id, name string, dims ...cwtypes.Dimension) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{
			Id: aws.String(id),
			MetricStat: &cwtypes.MetricStat{
				Metric: &cwtypes.Metric{Namespace: aws.String(c.cfg.Namespace), MetricName: aws.String(name), Dimensions: dims},
				Period: aws.Int32(period),
				Stat:   aws.String("Sum"),
			},
		}
	}
	reason := func(r string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: aws.String(metrics.DimReason), Value: aws.String(r)}
	}
	return &cloudwatch.GetMetricDataInput{
		StartTime: aws.Time(from),
		EndTime:   aws.Time(to),
		ScanBy:    cwtypes.ScanByTimestampDescending,
		MetricDataQueries: []cwtypes.MetricDataQuery{
			sum(idProcessed, metrics.EventsProcessed),
			sum(idIgnored, metrics.EventsIgnored),
			sum(idDuplicate, metrics.EventsDuplicate),
			sum(idFailed, metrics.EventsFailed),
			sum(idReceived, metrics.DeliveriesReceived),
			sum(idRejected, metrics.DeliveriesRejected),
			// The ingest package's reasons for a 5xx answer.
			sum(idEnqueueFailed, metrics.DeliveriesRejected, reason("enqueue_failed")),
			sum(idIngestInternal, metrics.DeliveriesRejected, reason("internal")),
			{
				Id: aws.String(idQueueAge),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{
						Namespace:  aws.String("AWS/SQS"),
						MetricName: aws.String("ApproximateAgeOfOldestMessage"),
						Dimensions: []cwtypes.Dimension{{Name: aws.String("QueueName"), Value: aws.String(c.queueName)}},
					},
					Period: aws.Int32(60),
					Stat:   aws.String("Maximum"),
				},
			},
			{Id: aws.String(idSuccessRate), Expression: aws.String(SuccessRateExpression), Label: aws.String("Success rate")},
		},
	}
}

// windowRange is the window ending with the current minute: CloudWatch starts periods
// at the start time rounded down to the minute, so an aligned start and a period of the
// whole window give one value per query; the end may lie in the future.
func windowRange(now time.Time, window time.Duration) (time.Time, time.Time) {
	to := now.UTC().Truncate(time.Minute).Add(time.Minute)
	return to.Add(-window), to
}

type metricFacts struct {
	processed, ignored, duplicate, failed, received, rejected, ingestErrors int64
	rate                                                                    *float64
	queueAge                                                                *int64
}

type queueFacts struct {
	visible, inFlight int64
}

// Check returns the health over the window ending now.
func (c *Checker) Check(ctx context.Context, window time.Duration) Report {
	now := c.cfg.Now()
	if r, ok := c.reports.get(window, now); ok {
		return r
	}
	from, to := windowRange(now, window)

	var (
		wg                 sync.WaitGroup
		mf                 metricFacts
		mErr               error
		main, dlq          queueFacts
		mainErr, dlqErr    error
		latest             []store.Event
		eventsErr          error
		callCtx, cancelAll = context.WithTimeout(ctx, c.cfg.CallTimeout)
	)
	defer cancelAll()
	wg.Go(func() { mf, mErr = c.readMetrics(callCtx, from, to) })
	wg.Go(func() { main, mainErr = c.readQueue(callCtx, c.cfg.QueueURL) })
	wg.Go(func() { dlq, dlqErr = c.readQueue(callCtx, c.cfg.DLQURL) })
	if c.events != nil {
		wg.Go(func() { latest, eventsErr = c.events.LatestEvents(callCtx, 1) })
	}
	wg.Wait()

	r := Report{
		Window: FormatWindow(window), WindowSeconds: int64(window / time.Second),
		From: from, To: to, CheckedAt: now.UTC(), Checks: []Check{}, Reasons: []string{},
	}
	th := c.cfg.Thresholds

	// Success rate.
	switch {
	case mErr != nil:
		c.cfg.Log.Error("health: metrics unreadable", "err", mErr)
		r.add("success_rate", CheckUnknown, "CloudWatch metrics could not be read")
	default:
		total := mf.processed + mf.ignored + mf.failed
		r.ProcessedEvents, r.IgnoredEvents, r.FailedEvents, r.TotalEvents = &mf.processed, &mf.ignored, &mf.failed, &total
		r.DuplicateEvents = &mf.duplicate
		r.ReceivedDeliveries, r.RejectedDeliveries, r.IngestErrors = &mf.received, &mf.rejected, &mf.ingestErrors
		if total > 0 {
			rate := float64(mf.processed+mf.ignored) / float64(total)
			if mf.rate != nil {
				rate = *mf.rate
			}
			rate = math.Round(rate*1e4) / 1e4
			r.SuccessRate = &rate
		}
		switch {
		case r.SuccessRate == nil:
			r.add("success_rate", CheckOK, "no deliveries handled in the window")
		case *r.SuccessRate < th.UnhealthySuccessRate:
			r.add("success_rate", CheckFail, "success rate "+fmtRate(*r.SuccessRate)+" is below "+fmtRate(th.UnhealthySuccessRate))
		case *r.SuccessRate <= th.MinSuccessRate:
			r.add("success_rate", CheckWarn, "success rate "+fmtRate(*r.SuccessRate)+" is not above "+fmtRate(th.MinSuccessRate))
		default:
			r.add("success_rate", CheckOK, "success rate "+fmtRate(*r.SuccessRate)+" is above "+fmtRate(th.MinSuccessRate))
		}
		if mf.ingestErrors > 0 {
			r.add("ingest", CheckWarn, plural(mf.ingestErrors, "delivery", "deliveries")+" could not be queued (answered 5xx)")
		} else {
			r.add("ingest", CheckOK, "every verified delivery was queued")
		}
	}

	// Dead-letter queue.
	if dlqErr != nil {
		c.cfg.Log.Error("health: DLQ unreadable", "err", dlqErr)
		r.add("dlq", CheckUnknown, "the dead-letter queue could not be read")
	} else {
		depth := dlq.visible + dlq.inFlight
		r.DLQDepth = &depth
		switch {
		case depth >= th.UnhealthyDLQDepth:
			r.add("dlq", CheckFail, plural(depth, "message", "messages")+" in the dead-letter queue")
		case depth > 0:
			r.add("dlq", CheckWarn, plural(depth, "message", "messages")+" in the dead-letter queue")
		default:
			r.add("dlq", CheckOK, "the dead-letter queue is empty")
		}
	}

	// Backlog: an empty queue has no old message, whatever a delayed metric says; a
	// queue with messages needs the age metric.
	if mainErr != nil {
		c.cfg.Log.Error("health: queue unreadable", "err", mainErr)
	} else {
		r.QueueDepth, r.QueueInFlight = &main.visible, &main.inFlight
	}
	var age *int64
	switch {
	case mainErr == nil && main.visible+main.inFlight == 0:
		zero := int64(0)
		age = &zero
	case mErr == nil && mf.queueAge != nil:
		age = mf.queueAge
	}
	r.OldestMessageAgeSeconds = age
	switch {
	case age == nil:
		r.add("backlog", CheckUnknown, "the age of the oldest queued message is not known")
	case time.Duration(*age)*time.Second > th.UnhealthyQueueAge:
		r.add("backlog", CheckFail, "the oldest queued message is "+fmtAge(*age)+" old, over "+fmtDuration(th.UnhealthyQueueAge))
	case time.Duration(*age)*time.Second > th.MaxQueueAge:
		r.add("backlog", CheckWarn, "the oldest queued message is "+fmtAge(*age)+" old, over "+fmtDuration(th.MaxQueueAge))
	default:
		r.add("backlog", CheckOK, "no queued message is older than "+fmtDuration(th.MaxQueueAge))
	}

	// Event log: the time of the last delivery seen.
	if c.events != nil {
		switch {
		case eventsErr != nil:
			c.cfg.Log.Error("health: event log unreadable", "err", eventsErr)
			r.add("event_log", CheckUnknown, "the event log could not be read")
		default:
			if len(latest) > 0 {
				at := latest[0].ReceivedAt.UTC()
				r.LastEventAt = &at
			}
			r.add("event_log", CheckOK, "the event log is readable")
		}
	}

	r.Status = StatusHealthy
	for _, ch := range r.Checks {
		switch ch.Status {
		case CheckFail:
			r.Status = StatusUnhealthy
		case CheckWarn, CheckUnknown:
			if r.Status == StatusHealthy {
				r.Status = StatusDegraded
			}
		}
		if ch.Status != CheckOK {
			r.Reasons = append(r.Reasons, ch.Detail)
		}
	}
	c.reports.put(window, r, r.CheckedAt)
	return r
}

func (r *Report) add(name, status, detail string) {
	r.Checks = append(r.Checks, Check{Name: name, Status: status, Detail: detail})
}

// readMetrics makes the one GetMetricData call and sums each query's values (one per
// query with an aligned window; summing keeps the counts right should CloudWatch split
// the window anyway). The success rate is CloudWatch's own when it gives exactly one
// value for the window.
func (c *Checker) readMetrics(ctx context.Context, from, to time.Time) (metricFacts, error) {
	out, err := c.cw.GetMetricData(ctx, c.metricQueries(from, to))
	if err != nil {
		return metricFacts{}, fmt.Errorf("get metric data: %w", err)
	}
	if out.NextToken != nil {
		return metricFacts{}, errIncomplete
	}
	var f metricFacts
	// The counters by query id; the ingest package's two reasons for a 5xx answer count
	// as one.
	counters := map[string]*int64{
		idProcessed: &f.processed, idIgnored: &f.ignored, idDuplicate: &f.duplicate,
		idFailed: &f.failed, idReceived: &f.received, idRejected: &f.rejected,
		idEnqueueFailed: &f.ingestErrors, idIngestInternal: &f.ingestErrors,
	}
	for _, res := range out.MetricDataResults {
		switch res.StatusCode {
		case cwtypes.StatusCodeComplete, "":
		default:
			return metricFacts{}, &resultError{id: aws.ToString(res.Id), status: string(res.StatusCode)}
		}
		id := aws.ToString(res.Id)
		if n, ok := counters[id]; ok {
			var sum float64
			for _, v := range res.Values {
				sum += v
			}
			*n += int64(math.Round(sum))
			continue
		}
		switch id {
		case idSuccessRate:
			if len(res.Values) == 1 && !math.IsNaN(res.Values[0]) {
				v := res.Values[0]
				f.rate = &v
			}
		case idQueueAge:
			if newest, ok := newestValue(res); ok {
				a := int64(math.Round(newest))
				f.queueAge = &a
			}
		}
	}
	return f, nil
}

// newestValue is the value at the latest timestamp of a result.
func newestValue(res cwtypes.MetricDataResult) (float64, bool) {
	best := -1
	for i := range res.Values {
		if i < len(res.Timestamps) && (best < 0 || res.Timestamps[i].After(res.Timestamps[best])) {
			best = i
		}
	}
	if best < 0 {
		return 0, false
	}
	return res.Values[best], true
}

func (c *Checker) readQueue(ctx context.Context, queueURL string) (queueFacts, error) {
	out, err := c.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return queueFacts{}, fmt.Errorf("attributes of queue %s: %w", QueueName(queueURL), err)
	}
	var f queueFacts
	if f.visible, err = strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)], 10, 64); err != nil {
		return queueFacts{}, errBadAttributes
	}
	if f.inFlight, err = strconv.ParseInt(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)], 10, 64); err != nil {
		return queueFacts{}, errBadAttributes
	}
	return f, nil
}
