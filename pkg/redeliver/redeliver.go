package redeliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/metrics"
)

// Defaults.
const (
	DefaultLookback    = 6 * time.Hour
	DefaultMinAge      = 2 * time.Minute
	DefaultMaxAttempts = 5
	DefaultMaxPerRun   = 100
	// MaxLookback is GitHub's redelivery limit: deliveries of the past three days.
	MaxLookback = 72 * time.Hour
)

// deliveries is what the job needs of the GitHub App client.
type deliveries interface {
	HookDeliveries(ctx context.Context, since time.Time) ([]ghapp.HookDelivery, error)
	Redeliver(ctx context.Context, deliveryID int64) error
}

// Config tunes the job; zero values take the defaults.
type Config struct {
	// Lookback is how far back each run looks (at most MaxLookback).
	Lookback time.Duration
	// MinAge is how old a GUID's newest attempt must be before it is redelivered.
	MinAge time.Duration
	// MaxAttempts is the number of attempts after which a GUID is given up.
	MaxAttempts int
	// MaxPerRun bounds the redeliveries requested in one run (oldest first).
	MaxPerRun int
	// Log receives one line per run and per redelivery; discarded when nil.
	Log     *slog.Logger
	Metrics *metrics.Emitter
	Now     func() time.Time
}

// Job is the redelivery job.
type Job struct {
	gh  deliveries
	cfg Config
}

// Result is what one run did.
type Result struct {
	Attempts    int `json:"attempts"`    // delivery attempts listed in the window
	Failed      int `json:"failed"`      // GUIDs with no OK attempt
	Redelivered int `json:"redelivered"` // redeliveries requested
	Pending     int `json:"pending"`     // failed GUIDs whose newest attempt is too recent
	Abandoned   int `json:"abandoned"`   // failed GUIDs given up after MaxAttempts
	Refused     int `json:"refused"`     // failed GUIDs our ingest refused for good (bad request, too large, media type)
	Errors      int `json:"errors"`      // redelivery requests that failed
}

// New returns a Job.
func New(gh deliveries, cfg Config) *Job {
	cfg.Lookback = config.PositiveOr(cfg.Lookback, DefaultLookback)
	cfg.Lookback = min(cfg.Lookback, MaxLookback)
	cfg.MinAge = config.PositiveOr(cfg.MinAge, DefaultMinAge)
	cfg.MaxAttempts = config.PositiveOr(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.MaxPerRun = config.PositiveOr(cfg.MaxPerRun, DefaultMaxPerRun)
	cfg.Log = logging.OrDiscard(cfg.Log)
	cfg.Now = config.NowOr(cfg.Now)
	return &Job{gh: gh, cfg: cfg}
}

type guidState struct {
	guid     string
	latest   ghapp.HookDelivery
	attempts int
	ok       bool
}

// finalRefusal reports whether the ingest function's answer is final for that body, so
// that sending the same body again cannot succeed: 400 (not a webhook payload), 413 (too
// large) and 415 (content type). A 401 is not final: it is what a delivery gets while the
// webhook secret is being rotated or is misconfigured, and a redelivery succeeds once fixed.
func finalRefusal(status int) bool {
	return status == 400 || status == 413 || status == 415
}

// Run makes one pass. It fails only when the deliveries cannot be listed; a redelivery
// GitHub refuses is counted and logged, and tried again on the next run.
func (j *Job) Run(ctx context.Context) (Result, error) {
	now := j.cfg.Now()
	list, err := j.gh.HookDeliveries(ctx, now.Add(-j.cfg.Lookback))
	if err != nil {
		return Result{}, fmt.Errorf("list hook deliveries: %w", err)
	}
	res := Result{Attempts: len(list)}
	byGUID := map[string]*guidState{}
	for _, d := range list {
		g := byGUID[d.GUID]
		if g == nil {
			g = &guidState{guid: d.GUID, latest: d}
			byGUID[d.GUID] = g
		}
		g.attempts++
		if d.Status == "OK" {
			g.ok = true
		}
		if d.DeliveredAt.After(g.latest.DeliveredAt) || (d.DeliveredAt.Equal(g.latest.DeliveredAt) && d.ID > g.latest.ID) {
			g.latest = d
		}
	}
	var due []*guidState
	for _, g := range byGUID {
		if g.ok {
			continue
		}
		res.Failed++
		switch {
		case finalRefusal(g.latest.StatusCode):
			res.Refused++
		case g.attempts >= j.cfg.MaxAttempts:
			res.Abandoned++
			j.cfg.Log.WarnContext(ctx, "delivery abandoned after repeated failures",
				"github_delivery_id", g.guid, "github_event_type", g.latest.Event,
				"github_installation_id", g.latest.InstallationID, "attempts", g.attempts,
				"last_status", g.latest.Status)
		case now.Sub(g.latest.DeliveredAt) < j.cfg.MinAge:
			res.Pending++
		default:
			due = append(due, g)
		}
	}
	// Oldest first: they are the closest to falling out of GitHub's three-day window.
	sort.Slice(due, func(a, b int) bool { return due[a].latest.DeliveredAt.Before(due[b].latest.DeliveredAt) })
	if len(due) > j.cfg.MaxPerRun {
		res.Pending += len(due) - j.cfg.MaxPerRun
		due = due[:j.cfg.MaxPerRun]
	}
	for _, g := range due {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		log := j.cfg.Log.With("github_delivery_id", g.guid, "github_event_type", g.latest.Event,
			"github_installation_id", g.latest.InstallationID, "hook_delivery_id", g.latest.ID, "attempts", g.attempts)
		if err := j.gh.Redeliver(ctx, g.latest.ID); err != nil {
			res.Errors++
			log.ErrorContext(ctx, "redelivery refused", "err", err)
			continue
		}
		res.Redelivered++
		log.InfoContext(ctx, "redelivery requested", "last_status", g.latest.Status)
	}
	j.cfg.Metrics.Emit("", "", nil,
		metrics.Count(metrics.DeliveriesRedelivered, float64(res.Redelivered)),
		metrics.Count(metrics.RedeliveriesAbandoned, float64(res.Abandoned)),
		metrics.Count(metrics.RedeliveryErrors, float64(res.Errors)))
	j.cfg.Log.InfoContext(ctx, "redelivery run done", "attempts_listed", res.Attempts, "failed", res.Failed,
		"redelivered", res.Redelivered, "pending", res.Pending, "abandoned", res.Abandoned, "errors", res.Errors)
	if res.Errors > 0 && res.Redelivered == 0 && len(due) > 0 {
		return res, errors.New("every redelivery request failed")
	}
	return res, nil
}
