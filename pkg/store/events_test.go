package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

func procClaim(id string, received time.Time) EventClaim {
	return EventClaim{
		DeliveryID: id, EventType: "push", Action: "", Repo: "Octo/Repo", InstallationID: 7,
		ReceivedAt: received, Envelope: `{"v":1}`, Lease: 2 * time.Minute, Retention: 30 * 24 * time.Hour,
	}
}

func TestTimeKeySortsAsTime(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	times := []time.Time{base, base.Add(500 * time.Millisecond), base.Add(time.Second), base.Add(time.Second + time.Nanosecond)}
	for i := 1; i < len(times); i++ {
		a, b := TimeKey(times[i-1]), TimeKey(times[i])
		if a >= b {
			t.Errorf("TimeKey(%v) = %q >= TimeKey(%v) = %q, want ascending", times[i-1], a, times[i], b)
		}
	}
	if got, want := TimeKey(time.Date(2026, 1, 2, 4, 4, 5, 0, time.FixedZone("x", 3600))), "2026-01-02T03:04:05.000000000Z"; got != want {
		t.Errorf("TimeKey(+01:00) = %q, want %q", got, want)
	}
	if _, err := time.Parse(time.RFC3339Nano, TimeKey(base)); err != nil {
		t.Errorf("TimeKey is not RFC 3339: %v", err)
	}
}

func TestClaimEventLifecycle(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := sharedTestStore(t).WithClock(clock.Now)
	received := clock.Now().Add(-time.Second)

	ev, err := s.ClaimEvent(ctx, procClaim("d1", received))
	if err != nil {
		t.Fatalf("ClaimEvent(new) error = %v", err)
	}
	if ev.Status != EventProcessing || ev.Attempts != 1 || ev.Repo != "octo/repo" || ev.LogPartition != LogPartition("d1") {
		t.Errorf("ClaimEvent(new) = %+v, want processing, attempt 1, repo lower case, log partition", ev)
	}
	if want := ReceivedKey(received, "d1"); ev.ReceivedKey != want {
		t.Errorf("ReceivedKey = %q, want %q", ev.ReceivedKey, want)
	}
	if ev.LeaseUntil == nil || !ev.LeaseUntil.Equal(clock.Now().Add(2*time.Minute)) {
		t.Errorf("LeaseUntil = %v, want %v", ev.LeaseUntil, clock.Now().Add(2*time.Minute))
	}
	if want := clock.Now().Add(30 * 24 * time.Hour).Unix(); ev.ExpiresAt != want {
		t.Errorf("ExpiresAt = %d, want %d", ev.ExpiresAt, want)
	}

	// A second worker while the lease is live is refused.
	clock.Advance(time.Minute)
	if _, err := s.ClaimEvent(ctx, procClaim("d1", received)); !errors.Is(err, ErrEventBusy) {
		t.Fatalf("ClaimEvent(live lease) error = %v, want ErrEventBusy", err)
	}

	// Failing makes it claimable again, attempts counted, the first receipt kept.
	if err := s.FailEvent(ctx, "d1", 1, "github_unavailable", "github GET /repos/{owner}/{repo}: 502\nBad Gateway"); err != nil {
		t.Fatalf("FailEvent() error = %v", err)
	}
	ev, err = s.ClaimEvent(ctx, procClaim("d1", received.Add(time.Hour)))
	if err != nil {
		t.Fatalf("ClaimEvent(after failure) error = %v", err)
	}
	if ev.Attempts != 2 || ev.Error != "" || ev.ReceivedKey != ReceivedKey(received, "d1") {
		t.Errorf("ClaimEvent(after failure) = attempts %d error %q key %q, want 2, cleared, first receipt", ev.Attempts, ev.Error, ev.ReceivedKey)
	}

	// Completing with a stale attempt number is refused.
	if err := s.CompleteEvent(ctx, "d1", 1, EventProcessed, ""); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("CompleteEvent(stale attempt) error = %v, want ErrLeaseLost", err)
	}
	if err := s.CompleteEvent(ctx, "d1", 2, EventIgnored, "not relevant"); err != nil {
		t.Fatalf("CompleteEvent() error = %v", err)
	}
	done, err := s.ClaimEvent(ctx, procClaim("d1", received))
	if !errors.Is(err, ErrEventDone) {
		t.Fatalf("ClaimEvent(done) error = %v, want ErrEventDone", err)
	}
	if done.Status != EventIgnored || done.Reason != "not relevant" || done.ProcessedAt == nil || done.LeaseUntil != nil {
		t.Errorf("ClaimEvent(done) returned %+v, want ignored with reason, processed_at, no lease", done)
	}
}

func TestClaimEventTakesOverExpiredLease(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := sharedTestStore(t).WithClock(clock.Now)
	if _, err := s.ClaimEvent(ctx, procClaim("d2", clock.Now())); err != nil {
		t.Fatal(err)
	}
	// The first worker died; its lease runs out.
	clock.Advance(2*time.Minute + time.Second)
	ev, err := s.ClaimEvent(ctx, procClaim("d2", clock.Now()))
	if err != nil {
		t.Fatalf("ClaimEvent(expired lease) error = %v", err)
	}
	if ev.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", ev.Attempts)
	}
	// The dead worker, had it woken up, can no longer finish.
	if err := s.FailEvent(ctx, "d2", 1, "", "late"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("FailEvent(old attempt) error = %v, want ErrLeaseLost", err)
	}
	if err := s.CompleteEvent(ctx, "d2", 2, EventProcessed, ""); err != nil {
		t.Errorf("CompleteEvent(new attempt) error = %v", err)
	}
}

func TestPutDuplicateEvent(t *testing.T) {
	ctx := context.Background()
	clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s := sharedTestStore(t).WithClock(clock.Now)
	d := DuplicateEvent{DeliveryID: "d3", MessageID: "m2", EventType: "push", Repo: "Octo/Repo", ReceivedAt: clock.Now(), Retention: time.Hour}
	for range 2 { // the same message twice is one entry
		if err := s.PutDuplicateEvent(ctx, d); err != nil {
			t.Fatalf("PutDuplicateEvent() error = %v", err)
		}
	}
	var got []Event
	err := s.db.Table(s.tables.Events).Scan().Filter("$ = ?", "duplicate_of", "d3").All(ctx, &got)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("event log has %d duplicate entries of d3, want 1", len(got))
	}
	e := got[0]
	if e.DeliveryID != "d3#dup#m2" || e.Status != EventDuplicate || e.DuplicateOf != "d3" || e.Repo != "octo/repo" || e.ReceivedKey != ReceivedKey(clock.Now(), "d3#dup#m2") {
		t.Errorf("duplicate entry = %+v", e)
	}
}

func TestCleanError(t *testing.T) {
	long := strings.Repeat("é", MaxEventError)
	tests := []struct {
		name, in, want string
	}{
		{"one line", "a\nb\t c", "a b c"},
		{"short", "boom", "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CleanError(tt.in); got != tt.want {
				t.Errorf("CleanError(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("long", func(t *testing.T) {
		got := CleanError(long)
		if len(got) > MaxEventError || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
			t.Errorf("CleanError(long) = %d bytes %q…, want <= %d ending in …", len(got), got[:10], MaxEventError)
		}
	})
}
