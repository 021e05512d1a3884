package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// TestIgnoreEvent: one write records a new delivery as ignored, reading as a claim and
// completion would; a delivery done or claimed elsewhere is left alone; one that failed
// before moves from failed to ignored in the counts.
func TestIgnoreEvent(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	s := newTestStore(t).WithClock(clock.Now)
	received := clock.Now().Add(-time.Minute)

	if err := s.IgnoreEvent(ctx, procClaim("new", received), "no project"); err != nil {
		t.Fatalf("IgnoreEvent(new) error = %v", err)
	}
	var ev Event
	if err := s.db.Table(s.tables.Events).Get("delivery_id", "new").Consistent(true).One(ctx, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Status != EventIgnored || ev.Reason != "no project" || ev.Attempts != 1 || ev.ReceivedKey != ReceivedKey(received, "new") || ev.Repo != "octo/repo" || ev.ProcessedAt == nil {
		t.Errorf("entry = %+v, want ignored, reason, one attempt, keyed by receipt", ev)
	}
	if err := s.IgnoreEvent(ctx, procClaim("new", received), "again"); !errors.Is(err, ErrEventNotNew) || !errors.Is(err, ErrEventDone) {
		t.Errorf("IgnoreEvent(done) = %v, want ErrEventNotNew and ErrEventDone", err)
	}

	if _, err := s.ClaimEvent(ctx, procClaim("busy", received)); err != nil {
		t.Fatal(err)
	}
	if err := s.IgnoreEvent(ctx, procClaim("busy", received), "x"); !errors.Is(err, ErrEventNotNew) || !errors.Is(err, ErrEventBusy) {
		t.Errorf("IgnoreEvent(claimed) = %v, want ErrEventNotNew and ErrEventBusy", err)
	}

	c, err := s.ClaimEvent(ctx, procClaim("failed", received))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.FailEvent(ctx, "failed", c.Attempts, "", "boom"); err != nil {
		t.Fatal(err)
	}
	if err := s.IgnoreEvent(ctx, procClaim("failed", received), "later"); err != nil {
		t.Fatalf("IgnoreEvent(failed) error = %v", err)
	}
	counts, err := s.CountEvents(ctx, received, []int64{7})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(counts.ByStatus); got != fmt.Sprint(map[string]int{EventIgnored: 2}) {
		t.Errorf("counts = %s, want 2 ignored (busy not counted, failed moved)", got)
	}
}

// TestBatchedStats: with batched stats, counts wait for FlushStats and then land once.
func TestBatchedStats(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	s := newTestStore(t).WithClock(clock.Now).WithBatchedStats()
	received := clock.Now().Add(-time.Minute)
	for i := range 3 {
		if err := s.IgnoreEvent(ctx, procClaim(fmt.Sprint("d", i), received), "x"); err != nil {
			t.Fatal(err)
		}
	}
	count := func() map[string]int {
		t.Helper()
		c, err := s.CountEvents(ctx, received, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c.ByStatus
	}
	if got := count(); len(got) != 0 {
		t.Errorf("before FlushStats: counts = %v, want none", got)
	}
	s.FlushStats(ctx)
	s.FlushStats(ctx) // nothing left: counts nothing twice
	for _, scope := range [][]int64{nil, {7}} {
		c, err := s.CountEvents(ctx, received, scope)
		if err != nil {
			t.Fatal(err)
		}
		if c.ByStatus[EventIgnored] != 3 {
			t.Errorf("after FlushStats: CountEvents(%v) = %v, want 3 ignored", scope, c.ByStatus)
		}
	}
}

// TestRefusalWithoutEntry: against an endpoint that returns no entry with a refusal
// (no ReturnValuesOnConditionCheckFailure), ClaimEvent still tells done from busy by
// reading the entry, and IgnoreEvent leaves the telling to ClaimEvent.
func TestRefusalWithoutEntry(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	s := newTestStore(t).WithClock(clock.Now)
	plain := *s
	plain.db = dynamo.NewFromIface(standin.DynamoDB(t)) // without refusedItems
	received := clock.Now().Add(-time.Minute)

	if err := s.IgnoreEvent(ctx, procClaim("done", received), "nothing"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimEvent(ctx, procClaim("busy", received)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]error{"done": ErrEventDone, "busy": ErrEventBusy} {
		if _, err := plain.ClaimEvent(ctx, procClaim(id, received)); !errors.Is(err, want) {
			t.Errorf("ClaimEvent(%s) without the entry in the refusal = %v, want %v", id, err, want)
		}
		err := plain.IgnoreEvent(ctx, procClaim(id, received), "x")
		if !errors.Is(err, ErrEventNotNew) || errors.Is(err, ErrEventDone) || errors.Is(err, ErrEventBusy) {
			t.Errorf("IgnoreEvent(%s) without the entry in the refusal = %v, want ErrEventNotNew alone", id, err)
		}
	}
}
