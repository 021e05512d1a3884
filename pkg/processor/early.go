package processor

import (
	"context"
	"errors"
	"fmt"
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
// A duplicate is told before either write: the store reads the repository's projects
// and the delivery's event log entry in one request (store.Store.ProjectsAndEntry), and
// an entry already processed or ignored leaves only the duplicate's own entry to write.
// That holds for a delivery GitHub sends again (a new SQS message) and for a message SQS
// delivers again alike, so neither is treated apart. A store without that read leaves it
// to the refusal of the write.

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

// entryReader is a store that reads a repository's projects and a delivery's event log
// entry in one request (store.Store.ProjectsAndEntry).
type entryReader interface {
	ProjectsAndEntry(ctx context.Context, repoID int64, deliveryID string) ([]store.Project, *store.Event, error)
}

// repoProjects returns the projects on the delivery's repository, read from the store
// once per delivery. A store that can (entryReader) reads the delivery's event log entry
// in the same request, for ignoreEarly to tell a duplicate by.
func (d *Delivery) repoProjects(ctx context.Context, p *Processor, repo *envelope.Repo) ([]store.Project, error) {
	if d.projectsRead {
		return d.projects, nil
	}
	var (
		projects []store.Project
		err      error
	)
	if er, ok := p.store.(entryReader); ok && repo.ID != 0 {
		projects, d.entry, err = er.ProjectsAndEntry(ctx, repo.ID, d.Env.DeliveryID)
		for i := range projects {
			projects[i].FollowRepo(repo.ID, repo.FullName)
		}
	} else {
		projects, err = p.repoProjects(ctx, repo)
	}
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
	// The entry read with the projects tells a duplicate (GitHub sending a delivery
	// again) or a delivery another worker holds, whatever the handler decided: one
	// write is then left, the duplicate's entry, where the refused claim or ignore
	// was one more.
	if d.entry != nil {
		switch why := d.entry.ClaimRefusal(p.now()); {
		case errors.Is(why, store.ErrEventDone):
			return true, p.duplicate(ctx, r, d)
		case errors.Is(why, store.ErrEventBusy):
			return true, p.busy(d, fmt.Errorf("delivery %s: %w", env.DeliveryID, why))
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
