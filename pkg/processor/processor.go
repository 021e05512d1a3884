package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Defaults applied by New.
const (
	// DefaultLease outlasts the function timeout (30 s) with room to spare, and is
	// shorter than the queue's visibility timeout (180 s): a message retried after a
	// worker died always finds the lease expired.
	DefaultLease = 2 * time.Minute
	// DefaultRetention is how long event log entries live (EVENT_LOG_RETENTION).
	DefaultRetention = 30 * 24 * time.Hour
	// DefaultConcurrency is how many repositories of one batch are processed at once.
	DefaultConcurrency = 4
	// DefaultDeadlineMargin: a record is not started when less than this is left before
	// the invocation's deadline; it is returned as failed, so SQS delivers it again.
	DefaultDeadlineMargin = 5 * time.Second
)

// Event log reasons for ignored deliveries. They are stable: the delivery history shows
// them.
const (
	ReasonNotHandled      = "event not handled"
	ReasonNoProject       = "no project tracks this repository"
	ReasonBranchDeleted   = "branch or tag deleted"
	ReasonTagPush         = "tag push"
	ReasonNotBranch       = "ref is not a branch"
	ReasonIrrelevant      = "no change to the plan or manifests"
	ReasonNoRepository    = "delivery names no repository"
	ReasonNoPayload       = "delivery carries no event details"
	ReasonActionIgnored   = "action does not change project state"
	ReasonNoInstallation  = "delivery names no installation"
	ReasonPlanTooLarge    = "plan file larger than 1 MiB"
	reasonBranchUntracked = "branch %s is not tracked by any project"
)

// EventRegistration is the event type of the update log entry SyncProject writes.
const EventRegistration = "registration"

// GitHub is what the processor reads from GitHub: *ghapp.Client in production. Errors
// carry ghapp's kinds (ghapp.ErrNotFound, ghapp.ErrNoAccess, ghapp.ErrTooLarge) and
// ghapp.IsRetryable.
type GitHub interface {
	HeadCommit(ctx context.Context, installationID int64, owner, repo, branch string) (string, time.Time, error)
	// FileContent returns ghapp.ErrTooLarge for a file over maxSize bytes, without
	// fetching more of it than its size.
	FileContent(ctx context.Context, installationID int64, owner, repo, path, ref string, maxSize int64) ([]byte, error)
	Repository(ctx context.Context, installationID int64, owner, repo string) (ghapp.Repository, error)
	Installation(ctx context.Context, installationID int64) (ghapp.Installation, error)
	InstallationRepositories(ctx context.Context, installationID int64) ([]ghapp.Repository, error)
	ForgetInstallation(installationID int64)
}

// FileLister is implemented by a GitHub client that can list every file of a commit
// (the git trees API). With it, manifests are found in every folder; without it, the
// processor reads the root-level manifests, the manifests the previous snapshot had and
// those a push names (see the package README section).
type FileLister interface {
	ListFiles(ctx context.Context, installationID int64, owner, repo, ref string) ([]ghapp.File, error)
}

// Store is the part of *store.Store the processor uses.
type Store interface {
	ClaimEvent(ctx context.Context, c store.EventClaim) (store.Event, error)
	CompleteEvent(ctx context.Context, deliveryID string, attempt int, status, reason string) error
	FailEvent(ctx context.Context, deliveryID string, attempt int, code, errText string) error
	PutDuplicateEvent(ctx context.Context, d store.DuplicateEvent) error
	ProjectsByRepo(ctx context.Context, repo string) ([]store.Project, error)
	ProjectsOfRepo(ctx context.Context, id int64, fullName string) ([]store.Project, error)
	ProjectsByInstallation(ctx context.Context, id int64) ([]store.Project, error)
	ProjectsByID(ctx context.Context, ids []string) ([]store.Project, error)
	MutateProject(ctx context.Context, id string, fn func(p *store.Project) (bool, error)) (store.Project, bool, error)
	PutSnapshot(ctx context.Context, snap store.Snapshot) (store.Snapshot, error)
	PutUpdate(ctx context.Context, u store.Update) (store.Update, error)
	GetInstallation(ctx context.Context, id int64) (store.Installation, error)
	PutInstallation(ctx context.Context, in store.Installation) (store.Installation, error)
}

// Config configures a Processor. Zero values take the defaults.
type Config struct {
	Lease          time.Duration
	Retention      time.Duration
	Concurrency    int
	DeadlineMargin time.Duration
	// Log receives one line per delivery (and warnings); discarded when nil.
	Log *slog.Logger
	// Metrics receives the EMF lines; none when nil.
	Metrics *metrics.Emitter
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Queue, when set, gives rate-limited records back to SQS for GitHub's wait
	// (ChangeMessageVisibility); without it they return after the queue's visibility
	// timeout.
	Queue Queue
	// QueueURL is the events queue's URL (QUEUE_URL), whose messages Queue gives back.
	// Configured rather than derived from the record's event source, so that the grant
	// names the one queue the function may change.
	QueueURL string
}

// Processor handles batches of queued deliveries. Safe for concurrent use.
type Processor struct {
	store    Store
	gh       GitHub
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	handlers map[string]Handler
}

// New returns a Processor over the store and GitHub client, with the push,
// pull_request, issues, installation and installation_repositories handlers.
func New(st Store, gh GitHub, cfg Config) *Processor {
	cfg.Lease = config.PositiveOr(cfg.Lease, DefaultLease)
	cfg.Retention = config.PositiveOr(cfg.Retention, DefaultRetention)
	cfg.Concurrency = config.PositiveOr(cfg.Concurrency, DefaultConcurrency)
	cfg.DeadlineMargin = config.PositiveOr(cfg.DeadlineMargin, DefaultDeadlineMargin)
	p := &Processor{store: st, gh: gh, cfg: cfg, log: logging.OrDiscard(cfg.Log), now: cfg.Now}
	if p.now == nil {
		p.now = time.Now
	}
	p.handlers = map[string]Handler{}
	for _, h := range []Handler{&pushHandler{p}, &pullRequestHandler{p}, &issuesHandler{p}, &installationHandler{p}} {
		for _, et := range h.Handles() {
			p.handlers[et] = h
		}
	}
	return p
}

// record is one SQS message of a batch, decoded.
type record struct {
	msg events.SQSMessage
	env *envelope.Envelope
	err error // why the message is unusable
}

// Handle processes a batch. Records of the same repository (or, for installation
// events, of the same installation) run one after another in batch order; different
// repositories run concurrently. A record that fails is returned in BatchItemFailures
// and SQS delivers it again (to the DLQ after maxReceiveCount); one that GitHub
// rate-limited is first given back for the wait (see giveBack). Later records of the
// same repository still run after a failure: every handler is order-independent (it
// re-reads GitHub, or keeps the newer state), so holding them back would only delay
// them. The error result is always nil: a nil error with failures is how a partial
// batch failure is reported.
func (p *Processor) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	groups := map[string][]record{}
	var order []string
	for _, m := range ev.Records {
		r := record{msg: m}
		r.env, r.err = decodeEnvelope(m.Body)
		key := groupKey(r)
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], r)
	}

	var (
		mu     sync.Mutex
		failed = map[string]bool{}
		wg     sync.WaitGroup
		sem    = make(chan struct{}, p.cfg.Concurrency)
	)
	for _, key := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(recs []record) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, r := range recs {
				if err := p.processRecord(ctx, r); err != nil {
					if wait, ok := ghapp.RetryAfter(err); ok {
						p.giveBack(ctx, r.msg, wait)
					}
					mu.Lock()
					failed[r.msg.MessageId] = true
					mu.Unlock()
				}
			}
		}(groups[key])
	}
	wg.Wait()
	if f, ok := p.store.(statsFlusher); ok {
		f.FlushStats(ctx)
	}

	var resp events.SQSEventResponse
	for _, m := range ev.Records { // batch order, each id once
		if failed[m.MessageId] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			delete(failed, m.MessageId)
		}
	}
	return resp, nil
}

// groupKey is the ordering group of a record: its repository, else its installation,
// else the message alone.
func groupKey(r record) string {
	if r.env != nil {
		if r.env.Repository != nil && r.env.Repository.FullName != "" {
			return "repo:" + strings.ToLower(r.env.Repository.FullName)
		}
		if r.env.InstallationID != 0 {
			return fmt.Sprintf("installation:%d", r.env.InstallationID)
		}
	}
	return "message:" + r.msg.MessageId
}

// errBadEnvelope marks a message the processor cannot read.
var errBadEnvelope = errors.New("bad envelope")

// decodeEnvelope reads a queued message body. The version must be envelope.Version.
func decodeEnvelope(body string) (*envelope.Envelope, error) {
	var env envelope.Envelope
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		return nil, fmt.Errorf("%w: not envelope JSON: %w", errBadEnvelope, err)
	}
	if env.Version != envelope.Version {
		return &env, fmt.Errorf("%w: unsupported envelope version %d (want %d)", errBadEnvelope, env.Version, envelope.Version)
	}
	if env.DeliveryID == "" || env.EventType == "" {
		return &env, fmt.Errorf("%w: delivery id or event type missing", errBadEnvelope)
	}
	return &env, nil
}

// Result is a handler's outcome for a delivery that did not fail.
type Result struct {
	Status string // store.EventProcessed or store.EventIgnored
	Reason string // why ignored, or what was done
}

func processed(summary string) Result { return Result{Status: store.EventProcessed, Reason: summary} }
func ignored(reason string) Result    { return Result{Status: store.EventIgnored, Reason: reason} }

// Delivery is one claimed delivery as handlers see it.
type Delivery struct {
	Env   *envelope.Envelope
	JobID string // the SQS message id
	Log   *slog.Logger

	projects     []store.Project // the repository's projects, once read (repoProjects)
	projectsRead bool
	// entry is the delivery's event log entry as read with the projects, before the
	// claim (nil: none, or not read; see early.go).
	entry *store.Event
}

// Handler handles the event types it declares.
type Handler interface {
	Handles() []string
	Handle(ctx context.Context, d *Delivery) (Result, error)
}

// processRecord claims, dispatches and records one message; nil means SQS may delete it.
func (p *Processor) processRecord(ctx context.Context, r record) error {
	start := p.now()
	if r.err != nil {
		return p.badRecord(ctx, r)
	}
	env := r.env
	log := p.log.With(
		slog.String("github_delivery_id", env.DeliveryID),
		slog.String("github_event_type", env.EventType),
		slog.String("github_action", env.Action),
		slog.Int64("github_installation_id", env.InstallationID),
		slog.String("repo", repoName(env)),
		slog.String("sqs_message_id", r.msg.MessageId),
	)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < p.cfg.DeadlineMargin {
		log.Warn("delivery deferred: invocation deadline near")
		return errors.New("deadline near")
	}
	d := &Delivery{Env: env, JobID: r.msg.MessageId, Log: log}
	if done, err := p.ignoreEarly(ctx, r, d, start); done {
		return err
	}

	claim, err := p.store.ClaimEvent(ctx, store.EventClaim{
		DeliveryID: env.DeliveryID, EventType: env.EventType, Action: env.Action,
		Repo: repoName(env), InstallationID: env.InstallationID, ReceivedAt: env.ReceivedAt,
		Envelope: r.msg.Body, Lease: p.cfg.Lease, Retention: p.cfg.Retention,
	})
	switch {
	case errors.Is(err, store.ErrEventDone):
		return p.duplicate(ctx, r, d)
	case errors.Is(err, store.ErrEventBusy):
		return p.busy(d, err)
	case err != nil:
		log.Error("delivery claim failed", slog.String("err", err.Error()))
		p.count(env, metrics.EventsFailed, 0)
		return err
	}
	log = log.With(slog.Int("attempt", claim.Attempts))
	d.Log = log

	res, err := p.dispatch(ctx, d)
	if err != nil {
		if ferr := p.store.FailEvent(ctx, env.DeliveryID, claim.Attempts, ErrorCode(err), err.Error()); ferr != nil {
			log.Error("delivery failure not logged", slog.String("err", ferr.Error()))
		}
		log.Error("delivery failed", slog.String("status", store.EventFailed), slog.String("err", err.Error()),
			slog.Bool("retryable", ghapp.IsRetryable(err)), slog.Int64("duration_ms", p.now().Sub(start).Milliseconds()))
		p.count(env, metrics.EventsFailed, 0)
		return err
	}
	reason := ""
	if res.Status == store.EventIgnored {
		reason = res.Reason
	}
	if err := p.store.CompleteEvent(ctx, env.DeliveryID, claim.Attempts, res.Status, reason); err != nil {
		if !errors.Is(err, store.ErrLeaseLost) {
			log.Error("delivery completion not logged", slog.String("err", err.Error()))
			p.count(env, metrics.EventsFailed, 0)
			return err
		}
		// Another worker took the delivery over after this one's lease ran out; the
		// work is idempotent and that worker records the outcome.
		log.Warn("delivery lease lost before completion")
	}
	log.Info("delivery done", slog.String("status", res.Status), slog.String("reason", res.Reason),
		slog.Int64("duration_ms", p.now().Sub(start).Milliseconds()))
	name := metrics.EventsProcessed
	if res.Status == store.EventIgnored {
		name = metrics.EventsIgnored
	}
	var latency time.Duration
	if !env.ReceivedAt.IsZero() {
		latency = max(p.now().Sub(env.ReceivedAt), time.Microsecond) // > 0: emitted
	}
	p.count(env, name, latency)
	return nil
}

// duplicate logs a delivery found done before as a duplicate, in an entry of its own
// (store.PutDuplicateEvent); nothing else changes.
func (p *Processor) duplicate(ctx context.Context, r record, d *Delivery) error {
	env := d.Env
	err := p.store.PutDuplicateEvent(ctx, store.DuplicateEvent{
		DeliveryID: env.DeliveryID, MessageID: r.msg.MessageId, EventType: env.EventType, Action: env.Action,
		Repo: repoName(env), InstallationID: env.InstallationID, ReceivedAt: env.ReceivedAt, Retention: p.cfg.Retention,
	})
	if err != nil {
		d.Log.Error("delivery duplicate not logged", slog.String("err", err.Error()))
		p.count(env, metrics.EventsFailed, 0)
		return err
	}
	d.Log.Info("delivery duplicate", slog.String("status", store.EventDuplicate), slog.String("duplicate_of", env.DeliveryID))
	p.count(env, metrics.EventsDuplicate, 0)
	return nil
}

// busy fails a delivery another worker holds a live lease on: SQS delivers it again
// after the visibility timeout, by which time that worker has finished (or died and its
// lease expired).
func (p *Processor) busy(d *Delivery, err error) error {
	d.Log.Warn("delivery busy elsewhere", slog.String("status", store.EventProcessing))
	return err
}

// dispatch runs the handler of the delivery's event type; other events are ignored.
func (p *Processor) dispatch(ctx context.Context, d *Delivery) (Result, error) {
	h, ok := p.handlers[d.Env.EventType]
	if !ok {
		return ignored(ReasonNotHandled), nil
	}
	return h.Handle(ctx, d)
}

// badRecord logs a message that is not a usable envelope and returns it as failed, so
// that it ends in the DLQ for inspection. When it names a delivery, the event log
// records the failure too.
func (p *Processor) badRecord(ctx context.Context, r record) error {
	log := p.log.With(slog.String("sqs_message_id", r.msg.MessageId))
	eventType := "unknown"
	if r.env != nil && r.env.DeliveryID != "" {
		env := r.env
		log = log.With(slog.String("github_delivery_id", env.DeliveryID), slog.String("github_event_type", env.EventType))
		if env.EventType != "" {
			eventType = env.EventType
		}
		claim, err := p.store.ClaimEvent(ctx, store.EventClaim{
			DeliveryID: env.DeliveryID, EventType: eventType, Action: env.Action, Repo: repoName(env),
			InstallationID: env.InstallationID, ReceivedAt: receivedOr(env.ReceivedAt, p.now()),
			Envelope: r.msg.Body, Lease: p.cfg.Lease, Retention: p.cfg.Retention,
		})
		if err == nil {
			if err := p.store.FailEvent(ctx, env.DeliveryID, claim.Attempts, CodeBadEnvelope, r.err.Error()); err != nil {
				log.Error("bad envelope not logged", slog.String("err", err.Error()))
			}
		}
	}
	log.Error("delivery failed", slog.String("status", store.EventFailed), slog.String("err", r.err.Error()))
	p.cfg.Metrics.Emit(metrics.DimEventType, eventType, map[string]any{"sqs_message_id": r.msg.MessageId},
		metrics.Count(metrics.EventsFailed, 1))
	return r.err
}

// count emits one outcome metric, with the latency from receipt when latency > 0.
func (p *Processor) count(env *envelope.Envelope, name string, latency time.Duration) {
	ms := []metrics.Metric{metrics.Count(name, 1)}
	if latency > 0 {
		ms = append(ms, metrics.Milliseconds(metrics.ProcessingLatency, latency))
	}
	p.cfg.Metrics.Emit(metrics.DimEventType, env.EventType, map[string]any{"github_delivery_id": env.DeliveryID}, ms...)
}

func receivedOr(t, def time.Time) time.Time {
	if t.IsZero() {
		return def
	}
	return t
}

// repoName is the delivery's repository, lower case, or "".
func repoName(env *envelope.Envelope) string {
	if env.Repository == nil {
		return ""
	}
	return strings.ToLower(env.Repository.FullName)
}
