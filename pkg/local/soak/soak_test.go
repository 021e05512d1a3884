package soak

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// TestSoakShort is `make soak` scaled down for `make test`: 250 deliveries,
// one fault of each kind with short outages, the queues' visibility timeout and the
// processor's lease shortened together, and the redeliver job's two-minute wait skipped
// by ageing the failed attempts. The invariants are the full run's.
func TestSoakShort(t *testing.T) {
	standin.SkipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	progress := &testkit.LogBuffer{}
	cfg := Config{
		Deliveries:  250,
		Senders:     4,
		Rate:        24,
		Repos:       4,
		Untracked:   2,
		FaultStart:  time.Second,
		FaultGap:    500 * time.Millisecond,
		DynamoPause: 3 * time.Second,
		// Longer than ingest's 5 s timeout, so that deliveries fail and wait for the job.
		SQSPause:       8 * time.Second,
		GitHubOutage:   2 * time.Second,
		Visibility:     8 * time.Second,
		Lease:          5 * time.Second,
		RedeliverEvery: 3 * time.Second,
		AgeFailed:      true,
		DrainTimeout:   90 * time.Second,
		Progress:       progress,
		Dir:            t.TempDir(),
	}
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run() error = %v\n%s", err, progress.String())
	}
	t.Logf("\n%s\n%s", progress.String(), rep)
	if f := rep.Failures(); len(f) > 0 {
		t.Errorf("Run() broke invariants:\n%s\nprogress:\n%s", strings.Join(f, "\n"), progress.String())
	}
	if rep.Deliveries < cfg.Deliveries {
		t.Errorf("Run() made %d deliveries, want at least %d", rep.Deliveries, cfg.Deliveries)
	}
	// A delivery or two may be recorded after the redeliveries were topped up to 30 %.
	if want := int(0.29 * float64(rep.Deliveries)); rep.Redeliveries < want {
		t.Errorf("Run() redelivered %d of %d deliveries, want at least %d", rep.Redeliveries, rep.Deliveries, want)
	}
	// Every successful send of a delivery already delivered must be recognised.
	if resent := rep.Attempts - rep.FailedAttempts - rep.Deliveries; rep.Duplicates < resent {
		t.Errorf("Run() recognised %d duplicates, want at least the %d successful sends of deliveries already sent", rep.Duplicates, resent)
	}
	if rep.JobRecovered == 0 {
		t.Error("no delivery failed during the SQS outage and was recovered by the redeliver job")
	}
}
