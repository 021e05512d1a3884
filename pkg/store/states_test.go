package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestStateSingleUse(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t).WithClock(func() time.Time { return now })

	if err := s.PutState(ctx, State{ID: "s1", UserID: "alice", ExpiresAt: now.Add(10 * time.Minute).Unix()}); err != nil {
		t.Fatalf("PutState(s1) error = %v", err)
	}
	if err := s.PutState(ctx, State{ID: "s1", UserID: "mallory", ExpiresAt: now.Add(time.Hour).Unix()}); err == nil {
		t.Fatalf("PutState(s1 again) error = nil, want a refusal to overwrite")
	}
	got, err := s.ConsumeState(ctx, "s1")
	if err != nil || got.UserID != "alice" || got.CreatedAt.IsZero() {
		t.Fatalf("ConsumeState(s1) = %+v, %v, want alice's state", got, err)
	}
	if _, err := s.ConsumeState(ctx, "s1"); !errors.Is(err, ErrStateUsed) {
		t.Errorf("ConsumeState(s1 replayed) error = %v, want ErrStateUsed", err)
	}
	if _, err := s.ConsumeState(ctx, "never-issued"); !errors.Is(err, ErrStateUsed) {
		t.Errorf("ConsumeState(unknown) error = %v, want ErrStateUsed", err)
	}
	if _, err := s.ConsumeState(ctx, ""); !errors.Is(err, ErrStateUsed) {
		t.Errorf("ConsumeState(empty) error = %v, want ErrStateUsed", err)
	}
	if err := s.PutState(ctx, State{ID: "", ExpiresAt: 1}); err == nil {
		t.Errorf("PutState(no id) error = nil, want an error")
	}
}

func TestStateExpired(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newTestStore(t).WithClock(func() time.Time { return now })
	if err := s.PutState(ctx, State{ID: "old", UserID: "alice", ExpiresAt: now.Add(-time.Second).Unix()}); err != nil {
		t.Fatalf("PutState(old) error = %v", err)
	}
	if _, err := s.ConsumeState(ctx, "old"); !errors.Is(err, ErrStateExpired) {
		t.Errorf("ConsumeState(expired) error = %v, want ErrStateExpired", err)
	}
	// An expired state is used up too: trying again is a replay.
	if _, err := s.ConsumeState(ctx, "old"); !errors.Is(err, ErrStateUsed) {
		t.Errorf("ConsumeState(expired, again) error = %v, want ErrStateUsed", err)
	}
}

func TestStateConcurrentConsumeOnce(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	if err := s.PutState(ctx, State{ID: "race", UserID: "alice", ExpiresAt: time.Now().Add(time.Minute).Unix()}); err != nil {
		t.Fatalf("PutState(race) error = %v", err)
	}
	exactlyOnce(t, "ConsumeState(race)", 8, ErrStateUsed, func(int) error {
		_, err := s.ConsumeState(ctx, "race")
		return err
	})
}
