package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/guregu/dynamo/v2"
)

// State errors.
var (
	// ErrStateUsed: the state is unknown or was already consumed (a replay).
	ErrStateUsed = errors.New("state unknown or already used")
	// ErrStateExpired: the state existed but its time was up; it is consumed all the same.
	ErrStateExpired = errors.New("state expired")
)

// PutState stores a new single-use state. Its id must be fresh: an existing id is an
// error rather than an overwrite, so a state can never be re-armed.
func (s *Store) PutState(ctx context.Context, st State) error {
	if st.ID == "" || st.ExpiresAt == 0 {
		return errors.New("put state: id and expiry are required")
	}
	if st.CreatedAt.IsZero() {
		st.CreatedAt = s.now().UTC()
	}
	err := s.db.Table(s.tables.States).Put(st).If("attribute_not_exists($)", "id").Run(ctx)
	if err != nil {
		return fmt.Errorf("put state: %w", err)
	}
	return nil
}

// ConsumeState deletes state id and returns it. The delete is conditional on the item
// existing, so of two concurrent uses exactly one succeeds; the other, like any later
// replay, gets ErrStateUsed. A state past its expiry (DynamoDB's TTL removes items only
// eventually) is deleted and reported as ErrStateExpired.
func (s *Store) ConsumeState(ctx context.Context, id string) (State, error) {
	if id == "" {
		return State{}, ErrStateUsed
	}
	var st State
	err := s.db.Table(s.tables.States).Delete("id", id).If("attribute_exists($)", "id").OldValue(ctx, &st)
	if dynamo.IsCondCheckFailed(err) || errors.Is(err, dynamo.ErrNotFound) {
		return State{}, ErrStateUsed
	}
	if err != nil {
		return State{}, fmt.Errorf("consume state: %w", err)
	}
	if s.now().Unix() >= st.ExpiresAt {
		return st, ErrStateExpired
	}
	return st, nil
}
