package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"
)

// ErrEventNotNew: IgnoreEvent found the delivery done, or claimed by a live worker. The
// error also matches ErrEventDone or ErrEventBusy when the refusal says which (DynamoDB
// returns the stored entry with it); otherwise the caller takes the usual way
// (ClaimEvent), which tells.
var ErrEventNotNew = errors.New("delivery not new")

// IgnoreEvent records a delivery as ignored with reason in one conditional write, for a
// delivery decided without claiming it first (nothing to do, known from the delivery
// and the store alone). It succeeds when ClaimEvent would — the delivery is new, failed
// before, or its claim's lease expired — and writes what ClaimEvent followed by
// CompleteEvent would, so the entry reads the same; the count moves as CompleteEvent's
// does. Otherwise it writes nothing and returns ErrEventNotNew, with ErrEventDone or
// ErrEventBusy as ClaimEvent would return them when the refusal carries the entry.
func (s *Store) IgnoreEvent(ctx context.Context, c EventClaim, reason string) error {
	if c.DeliveryID == "" {
		return errors.New("ignore event: empty delivery id")
	}
	now := s.now().UTC()
	token := rand.Text()
	u := s.claimUpdate(c, EventIgnored, now, token).
		Set("counted", EventIgnored).
		Set("processed_at", now).
		Set("reason", reason).
		Remove("lease_until", "error", "error_code", "duplicate_of")
	var old countedEvent
	err := u.OldValue(ctx, &old)
	if dynamo.IsCondCheckFailed(err) {
		// Without the entry (or with one that cannot be read) ClaimEvent finds out.
		cur, found, derr := refusedEvent(err)
		if derr == nil && found && cur.ClaimToken == token {
			// The SDK sent the write again after its first answer was lost, and the
			// first one holds: count it as that one would have been.
			s.countTransition(ctx, cur.counted(), EventIgnored)
			return nil
		}
		if derr == nil && found {
			if why := refusal(cur.Event, now); why != nil {
				return fmt.Errorf("ignore event %s: %w: %w", c.DeliveryID, ErrEventNotNew, why)
			}
		}
		return fmt.Errorf("ignore event %s: %w", c.DeliveryID, ErrEventNotNew)
	}
	if err != nil {
		return fmt.Errorf("ignore event %s: %w", c.DeliveryID, err)
	}
	// A new entry has no old value: count it as the claim would have left it.
	if old.EventType == "" {
		old = countedEvent{EventType: c.EventType, InstallationID: c.InstallationID, ReceivedAt: c.ReceivedAt}
	}
	s.countTransition(ctx, old, EventIgnored)
	return nil
}
