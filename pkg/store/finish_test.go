package store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// answerLost sends each request on, and for the first n requests that match drops
// DynamoDB's answer and reports a reset connection instead: what the SDK sees when a
// write succeeded and the connection broke before its answer arrived.
type answerLost struct {
	match func(body []byte) bool
	n     atomic.Int32
}

func (a *answerLost) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !a.match(body) || a.n.Add(-1) < 0 {
		return resp, err
	}
	resp.Body.Close()
	return nil, errors.New("read tcp: connection reset by peer")
}

// TestFinishEventSurvivesLostAnswer: when the SDK resends a final status write whose
// first send succeeded, the second send fails its condition against the first; the
// worker still finishes (no ErrLeaseLost), and the delivery is counted exactly once.
func TestFinishEventSurvivesLostAnswer(t *testing.T) {
	for _, tt := range []struct {
		name   string
		finish func(s *Store, id string, attempt int) error
		status string
	}{
		{"complete", func(s *Store, id string, attempt int) error {
			return s.CompleteEvent(context.Background(), id, attempt, EventProcessed, "")
		}, EventProcessed},
		{"fail", func(s *Store, id string, attempt int) error {
			return s.FailEvent(context.Background(), id, attempt, "github_unavailable", "502")
		}, EventFailed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
			tables := TablesFrom(standin.NewTables(t))
			cfg, err := standin.Dynalite(t).AWSConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Only a final status write sets "counted" (a claim and the stats never do).
			lost := &answerLost{match: func(b []byte) bool { return bytes.Contains(b, []byte("counted")) }}
			lost.n.Store(1)
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: lost} })
			s := New(db, tables).WithClock(clock.Now)

			ev, err := s.ClaimEvent(ctx, procClaim("lost-"+tt.name, clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.finish(s, ev.DeliveryID, ev.Attempts); err != nil {
				t.Fatalf("%s after a lost answer: error = %v, want nil", tt.name, err)
			}
			if lost.n.Load() >= 0 {
				t.Fatal("no answer was dropped: the test did not exercise the retry")
			}
			// Another worker's stale attempt is still refused.
			if err := tt.finish(s, ev.DeliveryID, ev.Attempts-1); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("%s(stale attempt) error = %v, want ErrLeaseLost", tt.name, err)
			}
			c, err := s.CountEvents(ctx, clock.Now().Add(-time.Hour), nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Total != 1 || c.ByStatus[tt.status] != 1 {
				t.Errorf("CountEvents() = total %d, by status %v, want 1 %s", c.Total, c.ByStatus, tt.status)
			}
		})
	}
}
