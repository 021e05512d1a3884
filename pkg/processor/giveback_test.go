package processor

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/store"
)

func TestDeferral(t *testing.T) {
	tests := []struct {
		wait     time.Duration
		receives int
		want     time.Duration
	}{
		{time.Minute, 1, time.Minute},
		{90 * time.Second, 0, 90 * time.Second}, // no receive count: the wait
		{1500 * time.Millisecond, 1, 2 * time.Second},
		{time.Minute, 2, 4 * time.Minute},
		{20 * time.Minute, 2, 20 * time.Minute},
		{2 * time.Minute, 3, 16 * time.Minute},
		{time.Minute, 4, 64 * time.Minute},
		{time.Minute, 5, 256 * time.Minute},
		{time.Minute, 9, MaxVisibilityTimeout},
		{48 * time.Hour, 1, MaxVisibilityTimeout},
	}
	for _, tt := range tests {
		if got := deferral(tt.wait, tt.receives); got != tt.want {
			t.Errorf("deferral(%s, %d) = %s, want %s", tt.wait, tt.receives, got, tt.want)
		}
	}
}

// recordingQueue records the visibility changes asked of it; next, when set, is called
// with each.
type recordingQueue struct {
	mu      sync.Mutex
	changes []sqs.ChangeMessageVisibilityInput
	next    Queue
	err     error
}

func (q *recordingQueue) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	q.mu.Lock()
	q.changes = append(q.changes, *in)
	q.mu.Unlock()
	if q.err != nil {
		return nil, q.err
	}
	if q.next != nil {
		return q.next.ChangeMessageVisibility(ctx, in, opts...)
	}
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func (q *recordingQueue) list() []sqs.ChangeMessageVisibilityInput {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.changes)
}

func TestRateLimitedRecordIsGivenBack(t *testing.T) {
	const arn = "arn:aws:sqs:us-east-1:123456789012:events"
	onQueue := func(m events.SQSMessage, receives string) events.SQSMessage {
		m.ReceiptHandle = "handle-" + m.MessageId
		m.EventSourceARN = arn
		m.Attributes = map[string]string{"ApproximateReceiveCount": receives}
		return m
	}
	tests := []struct {
		name     string
		err      error
		receives string
		want     int32 // visibility timeout asked for; 0: none
	}{
		{"rate limited, first receive", errRateLimited("GET /repos/{owner}/{repo}/contents/{path}"), "1", 600},
		{"rate limited, third receive", errRateLimited("GET /repos/{owner}/{repo}/contents/{path}"), "3", 960},
		{"other failure", errRetryable("GET /repos/{owner}/{repo}/contents/{path}"), "1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTestEnv(t)
			q := &recordingQueue{}
			e.p.cfg.Queue = q
			e.p.cfg.QueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
			pr := e.addProject(nil)
			e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
			e.gh.failNext(opFile, tt.err)
			d := e.push("main", "docs/plan.md")
			m := onQueue(d.msg(), tt.receives)
			if failed := e.handle(m); !slices.Equal(failed, []string{m.MessageId}) {
				t.Fatalf("failed = %v, want [%s] reported as a batch item failure", failed, m.MessageId)
			}
			changes := q.list()
			if tt.want == 0 {
				if len(changes) != 0 {
					t.Errorf("visibility changes = %+v, want none", changes)
				}
				return
			}
			if len(changes) != 1 {
				t.Fatalf("visibility changes = %d, want 1", len(changes))
			}
			c := changes[0]
			if aws.ToString(c.QueueUrl) != "https://sqs.us-east-1.amazonaws.com/123456789012/events" || aws.ToString(c.ReceiptHandle) != m.ReceiptHandle || c.VisibilityTimeout != tt.want {
				t.Errorf("ChangeMessageVisibility(%s, %s, %d), want the queue of %s, %s, %d",
					aws.ToString(c.QueueUrl), aws.ToString(c.ReceiptHandle), c.VisibilityTimeout, arn, m.ReceiptHandle, tt.want)
			}
			if ev := e.event(d.env.DeliveryID); ev.Status != store.EventFailed || ev.LeaseUntil != nil {
				t.Errorf("event = %s lease %v, want failed with the lease released for the next receive", ev.Status, ev.LeaseUntil)
			}
			_ = pr
		})
	}
	t.Run("visibility change refused", func(t *testing.T) {
		e := newTestEnv(t)
		e.p.cfg.Queue = &recordingQueue{err: errors.New("AccessDenied")}
		e.p.cfg.QueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
		e.addProject(nil)
		e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
		e.gh.failNext(opFile, errRateLimited("GET /repos/{owner}/{repo}/contents/{path}"))
		m := onQueue(e.push("main", "docs/plan.md").msg(), "1")
		if failed := e.handle(m); !slices.Equal(failed, []string{m.MessageId}) {
			t.Fatalf("failed = %v, want the record failed as before", failed)
		}
	})
}
