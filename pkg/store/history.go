package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// Reading the webhook event log: the delivery history and its counts. Every read is a
// Query on one of the events table's indexes, newest first; nothing here scans.

// Page sizes of QueryEvents.
const (
	DefaultEventPage = 20
	MaxEventPage     = 100
)

// EventQuery selects entries of the event log. Empty fields do not filter.
type EventQuery struct {
	EventType string
	Status    string
	Repo      string // owner/name, any case (the log keeps it lower case)
	// Since keeps entries received at or after it.
	Since time.Time
	// Installations, when not nil, keeps only entries of these installations (an empty,
	// non-nil slice keeps nothing).
	Installations []int64
	// Limit is the page size, 1..MaxEventPage (0 means DefaultEventPage).
	Limit int
	// Cursor continues from the page that returned it.
	Cursor string
}

// EventPage is one page of the event log, newest first.
type EventPage struct {
	Events []Event
	// NextCursor continues the listing; empty when there is nothing more.
	NextCursor string
}

// historyAttrs are the attributes a history entry needs: everything but the queued
// envelope, which can be large and is never shown.
var historyAttrs = []string{
	"delivery_id", "log_partition", "received_key", "event_type", "action", "repo", "installation_id",
	"status", "reason", "received_at", "started_at", "processed_at", "attempts", "error", "error_code", "duplicate_of",
}

// indexPlan is the index a query reads and the key of its partition.
type indexPlan struct {
	index     string
	hashAttr  string
	hashValue string
}

// rareStatuses are the statuses few entries have: filtering by one of them reads the
// fewest items through by_status.
var rareStatuses = map[string]bool{EventFailed: true, EventQueued: true, EventProcessing: true, EventDuplicate: true}

// planEvents picks the most selective index for the filters given: a repository's
// partition is the smallest, then a rare status, then an event type, then any status,
// and the whole log (by_time) when nothing filters. The other filters become a
// FilterExpression on that index.
func planEvents(q EventQuery) indexPlan {
	switch {
	case q.Repo != "":
		return indexPlan{IndexEventsByRepo, "repo", strings.ToLower(q.Repo)}
	case q.Status != "" && rareStatuses[q.Status]:
		return indexPlan{IndexEventsByStatus, "status", q.Status}
	case q.EventType != "":
		return indexPlan{IndexEventsByType, "event_type", q.EventType}
	case q.Status != "":
		return indexPlan{IndexEventsByStatus, "status", q.Status}
	}
	return indexPlan{IndexEventsByTime, "log_partition", EventLogPartition}
}

// Limits of one QueryEvents call: DynamoDB requests, and items read per request when a
// filter may drop most of them. A page that reaches the request budget ends early with
// a cursor, so a sparse filter costs the caller more pages, never an unbounded call.
const (
	maxHistoryRequests = 10
	filteredReadSize   = 200
)

// QueryEvents returns one page of the event log, newest first. A cursor that is not one
// QueryEvents made for the same filters is ErrBadCursor.
func (s *Store) QueryEvents(ctx context.Context, q EventQuery) (EventPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = DefaultEventPage
	}
	if limit < 1 || limit > MaxEventPage {
		return EventPage{}, fmt.Errorf("query events: limit %d outside 1..%d", limit, MaxEventPage)
	}
	plan := planEvents(q)
	start, err := decodeHistoryCursor(q.Cursor, plan, q.Since)
	if err != nil {
		return EventPage{}, err
	}
	if q.Installations != nil && len(q.Installations) == 0 {
		return EventPage{Events: []Event{}}, nil
	}

	// Filters other than the index key may drop most items read, so those queries read
	// in larger steps.
	filtered := (q.EventType != "" && plan.hashAttr != "event_type") ||
		(q.Status != "" && plan.hashAttr != "status") || q.Installations != nil
	query := func(esk dynamo.PagingKey, size int) *dynamo.Query {
		qq := s.db.Table(s.tables.Events).Get(plan.hashAttr, plan.hashValue).Index(plan.index).
			Order(dynamo.Descending).Project(historyAttrs...).SearchLimit(size)
		if !q.Since.IsZero() {
			qq.Range("received_key", dynamo.GreaterOrEqual, TimeKey(q.Since))
		}
		if q.EventType != "" && plan.hashAttr != "event_type" {
			qq.Filter("$ = ?", "event_type", q.EventType)
		}
		if q.Status != "" && plan.hashAttr != "status" {
			qq.Filter("$ = ?", "status", q.Status)
		}
		if q.Installations != nil {
			expr, args := installationFilter(q.Installations)
			qq.Filter(expr, args...)
		}
		if esk != nil {
			qq.StartFrom(esk)
		}
		return qq
	}

	// One item more than the page is read, so that the last page says it is the last.
	out := make([]Event, 0, limit+1)
	esk := start
	for range maxHistoryRequests {
		size := limit + 1 - len(out)
		if filtered {
			size = max(size, filteredReadSize)
		}
		var page []Event
		lek, err := query(esk, size).AllWithLastEvaluatedKey(ctx, &page)
		if err != nil {
			return EventPage{}, fmt.Errorf("query events on %s: %w", plan.index, err)
		}
		for _, ev := range page {
			out = append(out, ev)
			if len(out) > limit {
				last := out[limit-1]
				return EventPage{Events: out[:limit], NextCursor: encodeHistoryCursor(plan, last)}, nil
			}
		}
		if lek == nil {
			return EventPage{Events: out}, nil
		}
		esk = lek
	}
	// The request budget is spent: what was found is a page, and the cursor goes on from
	// where DynamoDB stopped.
	cursor, err := encodeHistoryKey(plan, esk)
	if err != nil {
		return EventPage{}, fmt.Errorf("query events on %s: %w", plan.index, err)
	}
	return EventPage{Events: out, NextCursor: cursor}, nil
}

// installationFilter is "installation_id IN (…)", in groups of 100 (DynamoDB's limit
// for IN) joined by OR.
func installationFilter(ids []int64) (string, []any) {
	var groups []string
	var args []any
	for i := 0; i < len(ids); i += 100 {
		chunk := ids[i:min(i+100, len(ids))]
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		groups = append(groups, "$ IN ("+marks+")")
		args = append(args, "installation_id")
		for _, id := range chunk {
			args = append(args, id)
		}
	}
	return "(" + strings.Join(groups, " OR ") + ")", args
}

// historyCursor is the JSON inside an opaque cursor: the index it belongs to and the key to
// start after (the table's key and the index's key, all strings).
type historyCursor struct {
	Index string            `json:"i"`
	Key   map[string]string `json:"k"`
}

func encodeHistoryCursor(plan indexPlan, last Event) string {
	c := historyCursor{Index: plan.index, Key: map[string]string{
		"delivery_id":  last.DeliveryID,
		"received_key": last.ReceivedKey,
		plan.hashAttr:  plan.hashValue,
	}}
	b, _ := json.Marshal(c) // a map of strings always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func encodeHistoryKey(plan indexPlan, key dynamo.PagingKey) (string, error) {
	c := historyCursor{Index: plan.index, Key: map[string]string{}}
	for k, v := range key {
		sv, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("key attribute %s is not a string", k)
		}
		c.Key[k] = sv.Value
	}
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("encode cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// maxHistoryCursor bounds the cursor text: three keys of at most a few hundred bytes each.
const maxHistoryCursor = 2048

// decodeHistoryCursor checks that the cursor names exactly the key attributes of the plan's
// index, in the same partition, inside the time range: a key outside the query's
// conditions would make DynamoDB fail the request, and the caller deserves a 400.
func decodeHistoryCursor(s string, plan indexPlan, since time.Time) (dynamo.PagingKey, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > maxHistoryCursor {
		return nil, fmt.Errorf("%w: too long", ErrBadCursor)
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	var c historyCursor
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("%w: not a cursor", ErrBadCursor)
	}
	if c.Index != plan.index {
		return nil, fmt.Errorf("%w: made for other filters", ErrBadCursor)
	}
	want := map[string]bool{"delivery_id": true, "received_key": true, plan.hashAttr: true}
	if len(c.Key) != len(want) {
		return nil, fmt.Errorf("%w: wrong key", ErrBadCursor)
	}
	key := dynamo.PagingKey{}
	for k, v := range c.Key {
		if !want[k] || v == "" {
			return nil, fmt.Errorf("%w: wrong key", ErrBadCursor)
		}
		key[k] = &types.AttributeValueMemberS{Value: v}
	}
	if c.Key[plan.hashAttr] != plan.hashValue {
		return nil, fmt.Errorf("%w: made for other filters", ErrBadCursor)
	}
	if !since.IsZero() && c.Key["received_key"] < TimeKey(since) {
		return nil, fmt.Errorf("%w: before since", ErrBadCursor)
	}
	return key, nil
}

// LatestEvents returns the n newest entries of the event log (the whole log, through
// by_time), without their envelopes.
func (s *Store) LatestEvents(ctx context.Context, n int) ([]Event, error) {
	if n < 1 {
		return nil, fmt.Errorf("latest events: n must be positive, got %d", n)
	}
	var out []Event
	// SearchLimit reads n items in one request; Limit would also look up key names.
	err := s.db.Table(s.tables.Events).Get("log_partition", EventLogPartition).Index(IndexEventsByTime).
		Order(dynamo.Descending).Project(historyAttrs...).SearchLimit(n).All(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("latest events: %w", err)
	}
	return out, nil
}
