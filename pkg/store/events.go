package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/guregu/dynamo/v2"
)

// timeKeyLayout is RFC 3339 in UTC with a fixed nine-digit fraction. RFC3339Nano drops
// trailing zeros, so its strings do not sort as the times do ("…:05.5Z" < "…:05Z").
const timeKeyLayout = "2006-01-02T15:04:05.000000000Z"

// TimeKey formats t for a sort key: UTC, fixed width, so that keys sort in time order.
// Every time-ordered key of the store (received_key, update_key, commit_key) starts
// with it.
func TimeKey(t time.Time) string { return t.UTC().Format(timeKeyLayout) }

// ReceivedKey is the event log's sort key: "<TimeKey(receivedAt)>#<id>".
func ReceivedKey(receivedAt time.Time, id string) string { return TimeKey(receivedAt) + "#" + id }

// DuplicateKey is the key of the event log entry recording that the SQS message
// messageID brought delivery deliveryID again after it was done.
func DuplicateKey(deliveryID, messageID string) string {
	return deliveryID + "#dup#" + messageID
}

// Event log claim outcomes.
var (
	// ErrEventDone: the delivery was already processed or ignored; ClaimEvent returns
	// the stored entry with it.
	ErrEventDone = errors.New("delivery already done")
	// ErrEventBusy: another worker holds a live lease on the delivery.
	ErrEventBusy = errors.New("delivery being processed elsewhere")
	// ErrLeaseLost: the claim expired and another worker took the delivery over.
	ErrLeaseLost = errors.New("delivery lease lost")
)

// ErrorInternal is the reason code of a failure no more specific code describes, and of
// entries logged before codes were.
const ErrorInternal = "internal"

// MaxEventError is the longest error text kept in the event log.
const MaxEventError = 500

// EventClaim is what ClaimEvent records about a delivery.
type EventClaim struct {
	DeliveryID     string
	EventType      string
	Action         string
	Repo           string // owner/name; stored lower case
	InstallationID int64
	ReceivedAt     time.Time
	// Envelope is the queued JSON, kept for inspection and replay.
	Envelope string
	// Lease is how long the claim holds: longer than the function timeout, so that only
	// a worker that died leaves an expired lease behind.
	Lease time.Duration
	// Retention is how long the entry lives (the TTL attribute expires_at).
	Retention time.Duration
}

// ClaimEvent marks a delivery as being processed by this worker, with one conditional
// write: it succeeds when the delivery is new, failed before, or claimed by a worker
// whose lease has expired. It returns the entry as claimed (Attempts is the fencing
// token CompleteEvent and FailEvent need). Otherwise it returns ErrEventDone with the
// stored entry when the delivery was already processed or ignored, or ErrEventBusy when
// another worker's lease is still live.
func (s *Store) ClaimEvent(ctx context.Context, c EventClaim) (Event, error) {
	if c.DeliveryID == "" {
		return Event{}, errors.New("claim event: empty delivery id")
	}
	if c.Lease <= 0 {
		return Event{}, errors.New("claim event: lease must be positive")
	}
	// Two rounds: a claim can fail against a state that changes before it is read
	// (a lease expiring in between); the second round sees the new state.
	for range 2 {
		now := s.now().UTC()
		token := rand.Text()
		u := s.claimUpdate(c, EventProcessing, now, token).
			Set("lease_until", now.Add(c.Lease).Unix()).
			Remove("error", "error_code", "reason", "processed_at", "duplicate_of")
		var ev Event
		err := u.Value(ctx, &ev)
		if err == nil {
			return ev, nil
		}
		if !dynamo.IsCondCheckFailed(err) {
			return Event{}, fmt.Errorf("claim event %s: %w", c.DeliveryID, err)
		}
		cur, found, err := refusedEvent(err)
		if err == nil && !found {
			// No entry with the refusal (an endpoint without ALL_OLD on refusals): read it.
			err = s.db.Table(s.tables.Events).Get("delivery_id", c.DeliveryID).Consistent(true).One(ctx, &cur)
			found = err == nil
			if errors.Is(err, dynamo.ErrNotFound) {
				continue
			}
		}
		if err != nil {
			return Event{}, fmt.Errorf("claim event %s: read: %w", c.DeliveryID, err)
		}
		if found && cur.ClaimToken == token {
			// The SDK sent the claim again after its first answer was lost, and the
			// first one holds: the delivery is ours (see finishEvent).
			return cur.Event, nil
		}
		if found {
			if why := refusal(cur.Event, now); why != nil {
				return cur.Event, fmt.Errorf("claim event %s: %w", c.DeliveryID, why)
			}
		}
	}
	return Event{}, fmt.Errorf("claim event %s: %w", c.DeliveryID, ErrEventBusy)
}

// storedEntry is an event log entry with what a claim wrote to recognise its own write
// when the SDK sends it again (claim_token) and the status the delivery was counted in
// before it (counted_from; see finishEvent).
type storedEntry struct {
	Event
	ClaimToken  string `dynamo:"claim_token"`
	CountedFrom string `dynamo:"counted_from"`
}

// counted is the entry as it was counted before the write that recorded counted_from.
func (e storedEntry) counted() countedEvent {
	c := countedEvent{EventType: e.EventType, InstallationID: e.InstallationID, ReceivedAt: e.ReceivedAt, Counted: e.CountedFrom}
	if c.Counted == countedNone {
		c.Counted = ""
	}
	return c
}

// refusedEvent decodes the entry DynamoDB returned with a refused conditional write to
// the events table (see refusedItems); found is false when the refusal carries none.
func refusedEvent(err error) (ev storedEntry, found bool, _ error) {
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) || len(ccf.Item) == 0 {
		return storedEntry{}, false, nil
	}
	if err := dynamo.UnmarshalItem(ccf.Item, &ev); err != nil {
		return storedEntry{}, false, fmt.Errorf("decode refused entry: %w", err)
	}
	return ev, true, nil
}

// refusal says why an entry refuses a claim at now: ErrEventDone when the delivery was
// processed or ignored (or is a duplicate's own entry), ErrEventBusy while another
// worker's lease is live, nil when it could be claimed now (its state changed since).
func refusal(cur Event, now time.Time) error {
	switch cur.Status {
	case EventProcessed, EventIgnored, EventDuplicate:
		return ErrEventDone
	case EventProcessing:
		if cur.LeaseUntil != nil && !cur.LeaseUntil.Before(time.Unix(now.Unix(), 0)) {
			return ErrEventBusy
		}
	}
	return nil
}

// CompleteEvent records the outcome of a claimed delivery: status EventProcessed, or
// EventIgnored with the reason. attempt is the claim's Attempts; when another worker
// has claimed the delivery since, nothing is written and ErrLeaseLost is returned.
func (s *Store) CompleteEvent(ctx context.Context, deliveryID string, attempt int, status, reason string) error {
	if status != EventProcessed && status != EventIgnored {
		return fmt.Errorf("complete event %s: status %q is not a final success", deliveryID, status)
	}
	now := s.now().UTC()
	u := s.db.Table(s.tables.Events).Update("delivery_id", deliveryID).
		Set("status", status).
		Set("counted", status).
		Set("processed_at", now).
		Remove("lease_until", "error", "error_code")
	if reason != "" {
		u.Set("reason", reason)
	} else {
		u.Remove("reason")
	}
	return s.finishEvent(ctx, u, deliveryID, attempt, status)
}

// FailEvent records that a claimed delivery failed: a stable reason code (empty:
// ErrorInternal) and a short error text (cut to MaxEventError bytes, on one line) that
// only operators see. The delivery may be claimed again at once.
func (s *Store) FailEvent(ctx context.Context, deliveryID string, attempt int, code, errText string) error {
	if code == "" {
		code = ErrorInternal
	}
	now := s.now().UTC()
	u := s.db.Table(s.tables.Events).Update("delivery_id", deliveryID).
		Set("status", EventFailed).
		Set("counted", EventFailed).
		Set("error_code", code).
		Set("error", CleanError(errText)).
		Set("processed_at", now).
		Remove("lease_until", "reason")
	return s.finishEvent(ctx, u, deliveryID, attempt, EventFailed)
}

// finishEvent writes a claimed delivery's final status, only while the claim of that
// attempt holds, and counts the transition in the hourly stats (see eventstats.go).
//
// The write also keeps the status the delivery was counted in before (counted_from) and
// a random token of this call (finish_token). Together they make the write safe to
// retry: when the SDK resends an update whose first send succeeded but whose answer was
// lost, the condition fails against our own write; finishEvent recognises it by its
// token, and still counts the transition once. A second call for the same attempt has
// another token and is refused, as a stale worker's is.
func (s *Store) finishEvent(ctx context.Context, u *dynamo.Update, deliveryID string, attempt int, status string) error {
	var old countedEvent
	token := rand.Text()
	err := u.Set("finish_token", token).
		SetExpr("$ = if_not_exists($, ?)", "counted_from", "counted", countedNone).
		If("$ = ? AND $ = ?", "status", EventProcessing, "attempts", attempt).OldValue(ctx, &old)
	if dynamo.IsCondCheckFailed(err) {
		var cur finishedEvent
		rerr := s.db.Table(s.tables.Events).Get("delivery_id", deliveryID).Consistent(true).One(ctx, &cur)
		if rerr != nil || !cur.finishedBy(attempt, status, token) {
			return fmt.Errorf("finish event %s attempt %d: %w", deliveryID, attempt, ErrLeaseLost)
		}
		old = cur.countedEvent
		old.Counted = cur.CountedFrom
		if old.Counted == countedNone {
			old.Counted = ""
		}
	} else if err != nil {
		return fmt.Errorf("finish event %s: %w", deliveryID, err)
	}
	s.countTransition(ctx, old, status)
	return nil
}

// countedNone stands for "not counted yet" in counted_from (an attribute cannot be
// copied from one that does not exist).
const countedNone = "-"

// finishedEvent is what finishEvent reads back to recognise its own earlier write.
type finishedEvent struct {
	countedEvent
	Status      string `dynamo:"status"`
	Attempts    int    `dynamo:"attempts"`
	FinishToken string `dynamo:"finish_token"`
	CountedFrom string `dynamo:"counted_from"`
}

// finishedBy reports whether the entry holds the final write made with token.
func (e finishedEvent) finishedBy(attempt int, status, token string) bool {
	return e.Status == status && e.Attempts == attempt && e.FinishToken == token
}

// DuplicateEvent describes a delivery received again after it was done.
type DuplicateEvent struct {
	DeliveryID     string // the original delivery
	MessageID      string // the SQS message that brought it again
	EventType      string
	Action         string
	Repo           string
	InstallationID int64
	ReceivedAt     time.Time
	Retention      time.Duration
}

// PutDuplicateEvent logs a duplicate as its own entry, keyed DuplicateKey(DeliveryID,
// MessageID), so that the original entry stays as it was and the same message seen
// twice is still one entry.
func (s *Store) PutDuplicateEvent(ctx context.Context, d DuplicateEvent) error {
	now := s.now().UTC()
	key := DuplicateKey(d.DeliveryID, d.MessageID)
	ev := Event{
		DeliveryID:     key,
		LogPartition:   LogPartition(key),
		ReceivedKey:    ReceivedKey(d.ReceivedAt, key),
		EventType:      d.EventType,
		Action:         d.Action,
		Repo:           strings.ToLower(d.Repo),
		InstallationID: d.InstallationID,
		Status:         EventDuplicate,
		ReceivedAt:     d.ReceivedAt.UTC(),
		StartedAt:      &now,
		ProcessedAt:    &now,
		Attempts:       1,
		DuplicateOf:    d.DeliveryID,
	}
	if d.Retention > 0 {
		ev.ExpiresAt = now.Add(d.Retention).Unix()
	}
	// Written once: the same message seen again is the same duplicate, counted once.
	err := s.db.Table(s.tables.Events).Put(ev).If("attribute_not_exists($)", "delivery_id").Run(ctx)
	if dynamo.IsCondCheckFailed(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("log duplicate %s: %w", key, err)
	}
	s.countTransition(ctx, countedEvent{EventType: ev.EventType, InstallationID: ev.InstallationID, ReceivedAt: ev.ReceivedAt}, EventDuplicate)
	return nil
}

// CleanError makes an error text fit the event log: one line, at most MaxEventError
// bytes, cut on a character boundary.
func CleanError(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= MaxEventError {
		return s
	}
	cut := MaxEventError - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// claimable is the condition under which a delivery may be claimed (or recorded as
// ignored without a claim): new, failed or queued, or processing under a lease that has
// run out; claimableArgs are its values at now.
const claimable = "attribute_not_exists($) OR $ IN (?, ?) OR ($ = ? AND $ < ?)"

func claimableArgs(now time.Time) []any {
	return []any{"delivery_id", "status", EventFailed, EventQueued, "status", EventProcessing, "lease_until", now.Unix()}
}

// claimUpdate starts the one conditional write that takes a delivery, shared by
// ClaimEvent and IgnoreEvent so that both leave the same entry: its identity (kept from
// the first write), type, status, start time and details, one more attempt, on the
// condition that the delivery is claimable now.
//
// token marks the write as this call's, and counted_from keeps the status the delivery
// was counted in before it: a write the SDK sends again after a lost answer is refused
// by its own first send, which the caller recognises by the token (ClaimEvent,
// IgnoreEvent), as finishEvent does.
func (s *Store) claimUpdate(c EventClaim, status string, now time.Time, token string) *dynamo.Update {
	u := s.db.Table(s.tables.Events).Update("delivery_id", c.DeliveryID).
		Set("claim_token", token).
		SetExpr("$ = if_not_exists($, ?)", "counted_from", "counted", countedNone).
		SetIfNotExists("log_partition", LogPartition(c.DeliveryID)).
		SetIfNotExists("received_at", c.ReceivedAt.UTC()).
		SetIfNotExists("received_key", ReceivedKey(c.ReceivedAt, c.DeliveryID)).
		Set("event_type", c.EventType).
		Set("status", status).
		Set("started_at", now).
		Add("attempts", 1).
		If(claimable, claimableArgs(now)...)
	c.setDetails(u, now)
	return u
}

// setDetails sets what the claim knows of the delivery beyond its id and type.
func (c EventClaim) setDetails(u *dynamo.Update, now time.Time) {
	if c.Action != "" {
		u.Set("action", c.Action)
	}
	if c.Repo != "" {
		u.Set("repo", strings.ToLower(c.Repo))
	}
	if c.InstallationID != 0 {
		u.Set("installation_id", c.InstallationID)
	}
	if c.Envelope != "" {
		u.Set("envelope", c.Envelope)
	}
	if c.Retention > 0 {
		u.Set("expires_at", now.Add(c.Retention).Unix())
	}
}
