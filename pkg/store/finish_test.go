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

// TestWritesSurviveLostAnswer: when the SDK resends a claim, an ignore or a final
// status write whose first send succeeded, the second send fails its condition against
// the first; the worker still goes on (no ErrEventBusy, ErrEventDone or ErrLeaseLost),
// and the delivery is counted exactly once. Each write is told by its token: a claim's
// and an ignore's claim_token, a final status write's finish_token.
func TestWritesSurviveLostAnswer(t *testing.T) {
	ctx := context.Background()
	claimAndFinish := func(finish func(s *Store, id string, attempt int) error) func(s *Store, id string, now time.Time) error {
		return func(s *Store, id string, now time.Time) error {
			ev, err := s.ClaimEvent(ctx, procClaim(id, now))
			if err != nil {
				return err
			}
			if ev.Attempts != 1 || ev.Status != EventProcessing {
				t.Errorf("ClaimEvent(%s) = attempt %d, %s; want 1, %s", id, ev.Attempts, ev.Status, EventProcessing)
			}
			if err := finish(s, id, ev.Attempts); err != nil {
				return err
			}
			// Another worker's stale attempt is still refused.
			if err := finish(s, id, ev.Attempts-1); !errors.Is(err, ErrLeaseLost) {
				t.Errorf("finish(stale attempt) error = %v, want ErrLeaseLost", err)
			}
			return nil
		}
	}
	complete := func(s *Store, id string, attempt int) error {
		return s.CompleteEvent(ctx, id, attempt, EventProcessed, "")
	}
	for _, tt := range []struct {
		name   string
		lose   string // a word of the write whose answer is lost
		run    func(s *Store, id string, now time.Time) error
		status string
	}{
		{"claim", "claim_token", claimAndFinish(complete), EventProcessed},
		{"complete", "finish_token", claimAndFinish(complete), EventProcessed},
		{"fail", "finish_token", claimAndFinish(func(s *Store, id string, attempt int) error {
			return s.FailEvent(ctx, id, attempt, "github_unavailable", "502")
		}), EventFailed},
		{"ignore", "claim_token", func(s *Store, id string, now time.Time) error {
			return s.IgnoreEvent(ctx, procClaim(id, now), "nothing to do")
		}, EventIgnored},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clock := testkit.NewClock(time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC))
			tables := TablesFrom(standin.NewTables(t))
			cfg, err := standin.Dynalite(t).AWSConfig(ctx)
			if err != nil {
				t.Fatal(err)
			}
			lost := &answerLost{match: func(b []byte) bool { return bytes.Contains(b, []byte(tt.lose)) }}
			lost.n.Store(1)
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: lost} })
			s := New(db, tables).WithClock(clock.Now)

			if err := tt.run(s, "lost-"+tt.name, clock.Now()); err != nil {
				t.Fatalf("%s after a lost answer: error = %v, want nil", tt.name, err)
			}
			if lost.n.Load() >= 0 {
				t.Fatal("no answer was dropped: the test did not exercise the retry")
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
