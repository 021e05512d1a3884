// Package history answers the delivery history routes of the API function:
// GET /webhooks/github/events (the webhook event log, newest first, filtered and paged)
// and GET /webhooks/github/events/stats (counts per event type and status). Both sit
// behind the JWT authorizer; a caller sees the deliveries of the installations they
// have linked (user_installations), and the operators named in HISTORY_ADMIN_SUBJECTS
// see every delivery. A failure's error text (SDK and GitHub details) is for operators
// only: other callers see its stable reason code (error_code, e.g. github_unavailable,
// rate_limited, internal) in its place; the processor's log lines keep the detail.
//
// README.md in this folder gives the query parameters, the index each filter uses and the
// cursor rules.
package history

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/logging"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Stats bounds, in hours.
const (
	DefaultStatsHours = 24
	MaxStatsHours     = 7 * 24
)

// DeliveryHistory is the delivery log the history routes page and count; *store.Store has it.
type DeliveryHistory interface {
	QueryEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
	CountEvents(ctx context.Context, since time.Time, installations []int64) (store.EventCounts, error)
	UserInstallations(ctx context.Context, userID string) ([]store.UserInstallation, error)
}

// Config configures a Handler.
type Config struct {
	// Admins are the JWT subjects that see every delivery (HISTORY_ADMIN_SUBJECTS).
	Admins []string
	Log    *slog.Logger
	Now    func() time.Time
}

// Handler answers the history routes.
type Handler struct {
	eventLog DeliveryHistory
	admins   map[string]bool
	logger   *slog.Logger
	now      func() time.Time
}

// New returns a Handler over the event log.
func New(log DeliveryHistory, cfg Config) *Handler {
	h := &Handler{eventLog: log, admins: map[string]bool{}, logger: logging.OrDiscard(cfg.Log), now: cfg.Now}
	for _, a := range cfg.Admins {
		h.admins[a] = true
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// Routes.
const (
	RouteEvents = "/webhooks/github/events"
	RouteStats  = "/webhooks/github/events/stats"
)

// Serve answers both routes, choosing by path, for a router that hands them to one
// handler (api.Config.History).
func (h *Handler) Serve(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	switch strings.TrimSuffix(p, "/") {
	case RouteStats:
		return h.Stats(ctx, req)
	case RouteEvents:
		return h.Events(ctx, req)
	}
	return httpapi.ErrorResponse(http.StatusNotFound, "not found"), nil
}

// Page is the answer of GET /webhooks/github/events.
type Page struct {
	Events []store.Event `json:"events"`
	// NextCursor, when present, is the cursor of the next page.
	NextCursor string `json:"next_cursor,omitempty"`
}

// TypeCounts is one event type's count, in all and by status.
type TypeCounts struct {
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
}

// Stats is the answer of GET /webhooks/github/events/stats.
type Stats struct {
	Hours       int                   `json:"hours"`
	Since       time.Time             `json:"since"`
	Total       int                   `json:"total"`
	ByStatus    map[string]int        `json:"by_status"`
	ByEventType map[string]TypeCounts `json:"by_event_type"`
}

var statuses = []string{store.EventQueued, store.EventProcessing, store.EventProcessed, store.EventIgnored, store.EventDuplicate, store.EventFailed}

var (
	eventTypePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z_]{1,64}$`) })
	repoPattern      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$`) })
)

// Events answers GET /webhooks/github/events: query parameters event_type, status,
// repo (owner/name), since (RFC 3339), limit (1..100, default 20) and cursor (from the
// previous page's next_cursor). Invalid parameters are 400.
func (h *Handler) Events(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	q, err := parseEventQuery(req.QueryStringParameters)
	if err != nil {
		return httpapi.Respond(h.logger, err), nil
	}
	scope, err := h.scope(ctx, &req)
	if err != nil {
		return httpapi.Respond(h.logger, err), nil
	}
	q.Installations = scope
	page, err := h.eventLog.QueryEvents(ctx, q)
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.Respond(h.logger, httpapi.Fail(http.StatusBadRequest, "invalid cursor", err)), nil
	}
	if err != nil {
		return httpapi.Respond(h.logger, err), nil
	}
	if page.Events == nil {
		page.Events = []store.Event{}
	}
	if scope != nil {
		for i := range page.Events {
			redactError(&page.Events[i])
		}
	}
	return httpapi.JSON(http.StatusOK, Page{Events: page.Events, NextCursor: page.NextCursor}), nil
}

func parseEventQuery(p map[string]string) (store.EventQuery, error) {
	q := store.EventQuery{Limit: store.DefaultEventPage, Cursor: p["cursor"]}
	if v, ok := p["limit"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxEventPage {
			return q, httpapi.Fail(http.StatusBadRequest, "limit must be an integer from 1 to 100", err)
		}
		q.Limit = n
	}
	if v, ok := p["event_type"]; ok {
		if !eventTypePattern().MatchString(v) {
			return q, httpapi.Fail(http.StatusBadRequest, "event_type must be a GitHub event name such as push or pull_request", nil)
		}
		q.EventType = v
	}
	if v, ok := p["status"]; ok {
		if !slices.Contains(statuses, v) {
			return q, httpapi.Fail(http.StatusBadRequest, "status must be one of "+strings.Join(statuses, ", "), nil)
		}
		q.Status = v
	}
	if v, ok := p["repo"]; ok {
		if !repoPattern().MatchString(v) {
			return q, httpapi.Fail(http.StatusBadRequest, "repo must be owner/name", nil)
		}
		q.Repo = strings.ToLower(v)
	}
	if v, ok := p["since"]; ok {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return q, httpapi.Fail(http.StatusBadRequest, "since must be an RFC 3339 time such as 2026-03-10T12:00:00Z", err)
		}
		q.Since = t
	}
	return q, nil
}

// Stats answers GET /webhooks/github/events/stats?hours=24 (1..168): the deliveries
// received since the start of the hour hours ago, counted by event type and final
// status (processed, ignored, failed, duplicate; deliveries still in the queue are not
// counted). It reads the store's hourly counts: one Query per scope, so any range up to
// a week costs at most store.MaxStatsScopes+1 requests. installation_id narrows the
// count to one installation (one of the caller's); a caller with more installations
// than store.MaxStatsScopes must name one.
func (h *Handler) Stats(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	hours := DefaultStatsHours
	if v, ok := req.QueryStringParameters["hours"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxStatsHours {
			return httpapi.Respond(h.logger, httpapi.Fail(http.StatusBadRequest, "hours must be an integer from 1 to 168", err)), nil
		}
		hours = n
	}
	scope, err := h.scope(ctx, &req)
	if err != nil {
		return httpapi.Respond(h.logger, err), nil
	}
	if v, ok := req.QueryStringParameters["installation_id"]; ok {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return httpapi.Respond(h.logger, httpapi.Fail(http.StatusBadRequest, "installation_id must be a positive integer", err)), nil
		}
		if scope != nil && !slices.Contains(scope, id) {
			return httpapi.Respond(h.logger, httpapi.Fail(http.StatusNotFound, "installation not found", nil)), nil
		}
		scope = []int64{id}
	}
	since := h.now().UTC().Add(-time.Duration(hours) * time.Hour).Truncate(time.Hour)
	counts, err := h.eventLog.CountEvents(ctx, since, scope)
	if errors.Is(err, store.ErrTooManyScopes) {
		return httpapi.Respond(h.logger, httpapi.Fail(http.StatusBadRequest,
			"more installations than the stats count at once: choose one with installation_id", err)), nil
	}
	if err != nil {
		return httpapi.Respond(h.logger, err), nil
	}
	s := Stats{Hours: hours, Since: since, Total: counts.Total, ByStatus: counts.ByStatus, ByEventType: map[string]TypeCounts{}}
	if s.ByStatus == nil {
		s.ByStatus = map[string]int{}
	}
	for typ, byStatus := range counts.ByType {
		tc := TypeCounts{ByStatus: byStatus}
		for _, n := range byStatus {
			tc.Total += n
		}
		s.ByEventType[typ] = tc
	}
	return httpapi.JSON(http.StatusOK, s), nil
}

// redactError replaces a failure's detail with its reason code, for callers who are not
// operators. Entries logged before codes were show "internal".
func redactError(ev *store.Event) {
	if ev.Error == "" && ev.ErrorCode == "" {
		return
	}
	if ev.ErrorCode == "" {
		ev.ErrorCode = store.ErrorInternal
	}
	ev.Error = ev.ErrorCode
}

// scope is the installations the caller may see: nil (all) for an admin, otherwise
// the installations they have linked, possibly none.
func (h *Handler) scope(ctx context.Context, req *events.APIGatewayV2HTTPRequest) ([]int64, error) {
	sub, err := httpapi.Subject(req)
	if err != nil {
		return nil, err
	}
	if h.admins[sub] {
		return nil, nil
	}
	links, err := h.eventLog.UserInstallations(ctx, sub)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(links))
	for _, l := range links {
		ids = append(ids, l.InstallationID)
	}
	return ids, nil
}
