package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie/lambdarietest"
	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// fakeQueue hands out its messages, perReceive at a time, and records deletions.
type fakeQueue struct {
	mu         sync.Mutex
	msgs       []sqstypes.Message
	perReceive int
	deleted    []string
	receives   int
}

func (q *fakeQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	q.mu.Lock()
	q.receives++
	n := min(int(in.MaxNumberOfMessages), len(q.msgs))
	if q.perReceive > 0 {
		n = min(n, q.perReceive)
	}
	out := q.msgs[:n]
	q.msgs = q.msgs[n:]
	q.mu.Unlock()
	if n == 0 && in.WaitTimeSeconds > 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return &sqs.ReceiveMessageOutput{Messages: out}, nil
}

func (q *fakeQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, e := range in.Entries {
		q.deleted = append(q.deleted, aws.ToString(e.ReceiptHandle))
	}
	return &sqs.DeleteMessageBatchOutput{}, nil
}

func (q *fakeQueue) deletedHandles() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := append([]string(nil), q.deleted...)
	sort.Strings(out)
	return out
}

// fakeFunction records each SQS event and answers with its Answer.
type fakeFunction = lambdarietest.Function[events.SQSEvent]

func messages(n int) []sqstypes.Message {
	out := make([]sqstypes.Message, n)
	for i := range out {
		out[i] = sqstypes.Message{
			MessageId:     aws.String(fmt.Sprintf("m%d", i)),
			ReceiptHandle: aws.String(fmt.Sprintf("h%d", i)),
			Body:          aws.String(fmt.Sprintf(`{"n":%d}`, i)),
		}
	}
	return out
}

func answer(payload string) func(events.SQSEvent) (*lambdarie.Result, error) {
	return func(events.SQSEvent) (*lambdarie.Result, error) {
		return &lambdarie.Result{Payload: []byte(payload)}, nil
	}
}

func TestProcessDeletesWhatTheFunctionHandled(t *testing.T) {
	tests := []struct {
		name        string
		report      bool
		answer      func(events.SQSEvent) (*lambdarie.Result, error)
		wantDeleted []string
	}{
		{"success", true, answer(`{"batchItemFailures":[]}`), []string{"h0", "h1", "h2"}},
		{"null answer", true, answer(`null`), []string{"h0", "h1", "h2"}},
		{"partial failure", true, answer(`{"batchItemFailures":[{"itemIdentifier":"m1"}]}`), []string{"h0", "h2"}},
		{"all failed", true, answer(`{"batchItemFailures":[{"itemIdentifier":"m0"},{"itemIdentifier":"m1"},{"itemIdentifier":"m2"}]}`), nil},
		{"unknown identifier fails the batch", true, answer(`{"batchItemFailures":[{"itemIdentifier":"zz"}]}`), nil},
		{"empty identifier fails the batch", true, answer(`{"batchItemFailures":[{"itemIdentifier":""}]}`), nil},
		{"failures ignored without ReportBatchItemFailures", false, answer(`{"batchItemFailures":[{"itemIdentifier":"m1"}]}`), []string{"h0", "h1", "h2"}},
		{"function error", true, func(events.SQSEvent) (*lambdarie.Result, error) {
			return &lambdarie.Result{Payload: []byte(`{"errorMessage":"x","errorType":"y"}`), FunctionError: lambdarie.FunctionErrorUnhandled}, nil
		}, nil},
		{"invoke error", true, func(events.SQSEvent) (*lambdarie.Result, error) { return nil, errors.New("emulator gone") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := &fakeQueue{}
			fn := &fakeFunction{Answer: tc.answer}
			p, err := New(Config{Queue: q, QueueURL: "http://q", Function: fn, ReportBatchItemFailures: tc.report})
			if err != nil {
				t.Fatal(err)
			}
			p.Process(context.Background(), messages(3))
			if got := q.deletedHandles(); !reflect.DeepEqual(got, tc.wantDeleted) {
				t.Errorf("deleted = %v, want %v", got, tc.wantDeleted)
			}
		})
	}
}

func TestEventIsLambdasSQSEvent(t *testing.T) {
	p, err := New(Config{Queue: &fakeQueue{}, QueueURL: "http://q", QueueARN: "arn:aws:sqs:us-east-1:000000000000:q", Region: "us-east-1", Function: &fakeFunction{}})
	if err != nil {
		t.Fatal(err)
	}
	msg := sqstypes.Message{
		MessageId:     aws.String("id-1"),
		ReceiptHandle: aws.String("rh-1"),
		Body:          aws.String(`{"v":1}`),
		MD5OfBody:     aws.String("md5"),
		Attributes:    map[string]string{"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"github_event_type": {DataType: aws.String("String"), StringValue: aws.String("push")},
			"blob":              {DataType: aws.String("Binary"), BinaryValue: []byte{1, 2}},
		},
	}
	b, err := json.Marshal(p.Event([]sqstypes.Message{msg}))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Records) != 1 {
		t.Fatalf("Records = %d, want 1", len(got.Records))
	}
	r := got.Records[0]
	want := map[string]any{
		"messageId":      "id-1",
		"receiptHandle":  "rh-1",
		"body":           `{"v":1}`,
		"md5OfBody":      "md5",
		"eventSource":    "aws:sqs",
		"eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:q",
		"awsRegion":      "us-east-1",
		"attributes":     map[string]any{"ApproximateReceiveCount": "2", "SentTimestamp": "1700000000000"},
	}
	for k, w := range want {
		if !reflect.DeepEqual(r[k], w) {
			t.Errorf("record %s = %#v, want %#v", k, r[k], w)
		}
	}
	attrs := r["messageAttributes"].(map[string]any)
	wantAttr := map[string]any{"stringValue": "push", "stringListValues": []any{}, "binaryListValues": []any{}, "dataType": "String"}
	if !reflect.DeepEqual(attrs["github_event_type"], wantAttr) {
		t.Errorf("messageAttributes.github_event_type = %#v, want %#v", attrs["github_event_type"], wantAttr)
	}
	if blob := attrs["blob"].(map[string]any); blob["binaryValue"] != "AQI=" {
		t.Errorf("binaryValue = %v, want base64 AQI=", blob["binaryValue"])
	}
}

func TestBatchingWindowGathersABatch(t *testing.T) {
	q := &fakeQueue{msgs: messages(5), perReceive: 1}
	fn := &fakeFunction{Answer: answer(`{}`)}
	p, err := New(Config{Queue: q, QueueURL: "http://q", Function: fn, BatchSize: 3, BatchingWindow: 500 * time.Millisecond, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for len(q.deletedHandles()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	var sizes []int
	for _, ev := range fn.Events() {
		sizes = append(sizes, len(ev.Records))
	}
	if !reflect.DeepEqual(sizes, []int{3, 2}) {
		t.Errorf("batch sizes = %v, want [3 2] (batch size 3 filled within the window, then the rest)", sizes)
	}
}

// TestMain stops the fauxqs that the stand-in tests start on first use.
func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

// TestRedriveToDeadLetterQueue checks on fauxqs what the poller relies on SQS for: a
// message the function keeps failing reappears after the visibility timeout and moves to
// the dead-letter queue once received more than maxReceiveCount times.
func TestRedriveToDeadLetterQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := standin.SQS(t)
	dlq, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("dlq")})
	if err != nil {
		t.Fatal(err)
	}
	dlqAttrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"QueueArn"}})
	if err != nil {
		t.Fatal(err)
	}
	const maxReceives = 2
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events"), Attributes: map[string]string{
		"VisibilityTimeout": "1",
		"RedrivePolicy":     fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":%d}`, dlqAttrs.Attributes["QueueArn"], maxReceives),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"poison":true}`)}); err != nil {
		t.Fatal(err)
	}
	fn := &fakeFunction{Answer: func(ev events.SQSEvent) (*lambdarie.Result, error) {
		return &lambdarie.Result{Payload: fmt.Appendf(nil, `{"batchItemFailures":[{"itemIdentifier":%q}]}`, ev.Records[0].MessageId)}, nil
	}}
	p, err := New(Config{Queue: client, QueueURL: aws.ToString(q.QueueUrl), Function: fn, ReportBatchItemFailures: true, WaitTime: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	stop := p.Start(ctx)
	defer stop()
	var moved []sqstypes.Message
	for len(moved) == 0 && ctx.Err() == nil {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		moved = out.Messages
	}
	if len(moved) != 1 || aws.ToString(moved[0].Body) != `{"poison":true}` {
		t.Fatalf("dead-letter queue holds %v, want the poison message", moved)
	}
	invs := fn.Events()
	if len(invs) != maxReceives {
		t.Errorf("function invoked %d times, want maxReceiveCount = %d", len(invs), maxReceives)
	}
	for i, ev := range invs {
		if got, want := ev.Records[0].Attributes["ApproximateReceiveCount"], fmt.Sprint(i+1); got != want {
			t.Errorf("invocation %d ApproximateReceiveCount = %s, want %s", i+1, got, want)
		}
	}
}
