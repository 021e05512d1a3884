package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// UpdateKey is an update log entry's sort key: "<TimeKey(at)>#<id>", where at is the
// delivery's receipt time and id its delivery id, so that a retried delivery rewrites
// its entry instead of appending a second one and the log reads in receipt order.
func UpdateKey(at time.Time, id string) string { return TimeKey(at) + "#" + id }

// PutUpdate writes an update log entry; UpdateKey is filled in from At and DeliveryID
// when empty. Writing the same entry again changes nothing.
func (s *Store) PutUpdate(ctx context.Context, u Update) (Update, error) {
	if u.ProjectID == "" {
		return Update{}, errors.New("put update: project id is required")
	}
	u.At = u.At.UTC()
	if u.UpdateKey == "" {
		if u.DeliveryID == "" {
			return Update{}, errors.New("put update: delivery id or update key is required")
		}
		u.UpdateKey = UpdateKey(u.At, u.DeliveryID)
	}
	if err := s.db.Table(s.tables.Updates).Put(u).Run(ctx); err != nil {
		return Update{}, fmt.Errorf("put update %s/%s: %w", u.ProjectID, u.UpdateKey, err)
	}
	return u, nil
}
