package poller

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// TestChangedVisibilityIsHonoured checks on fauxqs what a function giving a record back
// relies on, as with Lambda's event source: a record it reports failed after changing
// its visibility (ChangeMessageVisibility with the record's receipt handle) reappears
// after the new timeout, not after the queue's.
func TestChangedVisibilityIsHonoured(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := standin.SQS(t)
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events-visibility"), Attributes: map[string]string{"VisibilityTimeout": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"later":true}`)}); err != nil {
		t.Fatal(err)
	}
	const given = 3 * time.Second
	var (
		mu    sync.Mutex
		times []time.Time
	)
	fn := &fakeFunction{Answer: func(ev events.SQSEvent) (*lambdarie.Result, error) {
		mu.Lock()
		times = append(times, time.Now())
		first := len(times) == 1
		mu.Unlock()
		if !first {
			return &lambdarie.Result{Payload: []byte(`{"batchItemFailures":[]}`)}, nil
		}
		r := ev.Records[0]
		if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: q.QueueUrl, ReceiptHandle: aws.String(r.ReceiptHandle), VisibilityTimeout: int32(given / time.Second),
		}); err != nil {
			return nil, err
		}
		return &lambdarie.Result{Payload: fmt.Appendf(nil, `{"batchItemFailures":[{"itemIdentifier":%q}]}`, r.MessageId)}, nil
	}}
	p, err := New(Config{Queue: client, QueueURL: aws.ToString(q.QueueUrl), Function: fn, ReportBatchItemFailures: true, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start(ctx)
	defer stop()
	for ctx.Err() == nil {
		mu.Lock()
		n := len(times)
		mu.Unlock()
		if n >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 2 {
		t.Fatalf("invocations = %d, want the record again after its new visibility timeout", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < given {
		t.Errorf("record reappeared after %s, want at least the %s the function gave it (the queue's timeout is 1s)", gap, given)
	}
	if len(times) > 2 {
		t.Errorf("invocations = %d, want 2 (handled the second time)", len(times))
	}
}
