package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestCountAttr(t *testing.T) {
	for _, tt := range []struct{ typ, status string }{{"push", EventProcessed}, {"pull_request", EventFailed}, {"x_", EventIgnored}, {"a__b", EventDuplicate}} {
		typ, status, ok := parseCountAttr(countAttr(tt.typ, tt.status))
		if !ok || typ != tt.typ || status != tt.status {
			t.Errorf("parseCountAttr(countAttr(%q, %q)) = %q, %q, %v", tt.typ, tt.status, typ, status, ok)
		}
	}
	for _, name := range []string{"scope", "hour", "expires_at", "n_push"} {
		if _, _, ok := parseCountAttr(name); ok {
			t.Errorf("parseCountAttr(%q) ok, want not a count", name)
		}
	}
}

// TestEventStatsCountOnce: each delivery counts once, in its latest final status; a
// retried or stale status write and a duplicate seen again count nothing more.
func TestEventStatsCountOnce(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
	s := newTestStore(t).WithClock(clock.Now)
	received := clock.Now().Add(-time.Minute)
	claim := func(id string) Event {
		t.Helper()
		c := procClaim(id, received)
		c.InstallationID = 7
		ev, err := s.ClaimEvent(ctx, c)
		if err != nil {
			t.Fatalf("ClaimEvent(%s) error = %v", id, err)
		}
		return ev
	}
	count := func(installations []int64) map[string]int {
		t.Helper()
		c, err := s.CountEvents(ctx, received, installations)
		if err != nil {
			t.Fatalf("CountEvents() error = %v", err)
		}
		out := map[string]int{"total": c.Total}
		for st, n := range c.ByStatus {
			out[st] = n
		}
		return out
	}
	expect := func(step string, want map[string]int) {
		t.Helper()
		for _, scope := range [][]int64{nil, {7}} {
			if got := count(scope); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: CountEvents(%v) = %v, want %v", step, scope, got, want)
			}
		}
	}

	// d1 fails twice, then succeeds: failed once, then processed instead.
	ev := claim("d1")
	expect("claimed", map[string]int{"total": 0})
	if err := s.FailEvent(ctx, "d1", ev.Attempts, "github_unavailable", "502"); err != nil {
		t.Fatal(err)
	}
	if err := s.FailEvent(ctx, "d1", ev.Attempts, "github_unavailable", "502"); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("FailEvent(retried) error = %v, want ErrLeaseLost", err)
	}
	expect("failed", map[string]int{"total": 1, EventFailed: 1})
	clock.Advance(3 * time.Minute)
	ev = claim("d1")
	if err := s.FailEvent(ctx, "d1", ev.Attempts, "github_unavailable", "502"); err != nil {
		t.Fatal(err)
	}
	expect("failed again", map[string]int{"total": 1, EventFailed: 1})
	ev = claim("d1")
	if err := s.CompleteEvent(ctx, "d1", ev.Attempts, EventProcessed, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteEvent(ctx, "d1", ev.Attempts, EventProcessed, ""); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("CompleteEvent(retried) error = %v, want ErrLeaseLost", err)
	}
	expect("processed", map[string]int{"total": 1, EventProcessed: 1})

	// d2 ignored; d1 seen again twice in one message: one duplicate.
	ev = claim("d2")
	if err := s.CompleteEvent(ctx, "d2", ev.Attempts, EventIgnored, "not relevant"); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		dup := DuplicateEvent{DeliveryID: "d1", MessageID: "m9", EventType: "push", InstallationID: 7, ReceivedAt: received}
		if err := s.PutDuplicateEvent(ctx, dup); err != nil {
			t.Fatalf("PutDuplicateEvent() error = %v", err)
		}
	}
	expect("ignored and duplicate", map[string]int{"total": 3, EventProcessed: 1, EventIgnored: 1, EventDuplicate: 1})

	// Another installation's counts are its own; too many installations are refused.
	if got := count([]int64{8}); got["total"] != 0 {
		t.Errorf("CountEvents([8]) = %v, want nothing", got)
	}
	if _, err := s.CountEvents(ctx, received, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}); !errors.Is(err, ErrTooManyScopes) {
		t.Errorf("CountEvents(10 installations) error = %v, want ErrTooManyScopes", err)
	}
}
