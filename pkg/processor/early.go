package processor

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Ignoring a delivery early. Most deliveries change nothing (a push touching neither
// the plan nor a manifest, a pull request or issue event on a repository no project
// tracks, an issue action that changes no task, an event type no handler takes): for
// them, claiming and then completing costs two event log writes where one suffices. A
// handler that can tell from the delivery and the store alone — never GitHub — that
// there is nothing to do implements prejudger; the processor then records the delivery
// as ignored with one conditional write (store.IgnoreEvent) and never claims it. A
// delivery the write finds done before is a duplicate, one claimed elsewhere is busy,
// as the claim would have found (the refusal carries the stored entry). Anything else
// takes the usual way: claim, handle, complete. pkg/processor/README.md counts the
// requests.
//
// The order for a message SQS delivers again (ApproximateReceiveCount > 1): its batch
// failed or timed out, or the record itself failed, so it was most often done before.
// Judging it first would cost a store read before the claim found it done, so it is
// judged by its payload alone and otherwise claimed at once: a duplicate then costs the
// refused claim and its own entry, a relevant push what it always costs, and an
// irrelevant one a claim and a completion instead of one write.

// prejudger is a handler that can find, before claiming, that a delivery has nothing to
// do: it returns the reason to ignore it, or "" when the delivery needs handling.
type prejudger interface {
	prejudge(ctx context.Context, d *Delivery) (string, error)
}

// earlyIgnorer is the store's one-write ignore (store.Store.IgnoreEvent). A Store
// without it claims every delivery.
type earlyIgnorer interface {
	IgnoreEvent(ctx context.Context, c store.EventClaim, reason string) error
}

// statsFlusher is a store that batches the event stats' counts until the end of a
// batch (store.Store.WithBatchedStats).
type statsFlusher interface {
	FlushStats(ctx context.Context)
}

// repoProjects returns the projects on the delivery's repository, read from the store
// once per delivery.
func (d *Delivery) repoProjects(ctx context.Context, p *Processor, repo *envelope.Repo) ([]store.Project, error) {
	if d.projectsRead {
		return d.projects, nil
	}
	projects, err := p.repoProjects(ctx, repo)
	if err != nil {
		return nil, err
	}
	d.projects, d.projectsRead = projects, true
	return projects, nil
}

// ignoreEarly records the delivery as ignored without claiming it when its handler (or
// the lack of one) says there is nothing to do. done reports that the delivery is
// finished with err as its outcome; otherwise the caller claims and handles it. A store
// read that fails here is not an outcome: the usual way reads again and records the
// failure.
func (p *Processor) ignoreEarly(ctx context.Context, r record, d *Delivery, start time.Time) (done bool, err error) {
	ig, ok := p.store.(earlyIgnorer)
	if !ok {
		return false, nil
	}
	env := d.Env
	reason := ""
	switch h, ok := p.handlers[env.EventType]; {
	case !ok:
		reason = ReasonNotHandled
	default:
		pj, ok := h.(prejudger)
		if !ok {
			return false, nil
		}
		if reason, err = pj.prejudge(ctx, d); err != nil {
			d.Log.Warn("delivery not prejudged", slog.String("err", err.Error()))
			return false, nil
		}
	}
	if reason == "" {
		return false, nil
	}
	err = ig.IgnoreEvent(ctx, store.EventClaim{
		DeliveryID: env.DeliveryID, EventType: env.EventType, Action: env.Action,
		Repo: repoName(env), InstallationID: env.InstallationID, ReceivedAt: env.ReceivedAt,
		Envelope: r.msg.Body, Retention: p.cfg.Retention,
	}, reason)
	switch {
	case errors.Is(err, store.ErrEventDone):
		return true, p.duplicate(ctx, r, d)
	case errors.Is(err, store.ErrEventBusy):
		return true, p.busy(d, err)
	case errors.Is(err, store.ErrEventNotNew):
		return false, nil
	}
	if err != nil {
		d.Log.Error("delivery claim failed", slog.String("err", err.Error()))
		p.count(env, metrics.EventsFailed, 0)
		return true, err
	}
	d.Log.Info("delivery done", slog.String("status", store.EventIgnored), slog.String("reason", reason),
		slog.Int64("duration_ms", p.now().Sub(start).Milliseconds()))
	var latency time.Duration
	if !env.ReceivedAt.IsZero() {
		latency = max(p.now().Sub(env.ReceivedAt), time.Microsecond)
	}
	p.count(env, metrics.EventsIgnored, latency)
	return true, nil
}
