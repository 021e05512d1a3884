package ingest

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

func TestHandleThroughSQS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := standin.SQS(t)
	urls, err := standin.CreateQueues(ctx, client, "ingest-test-")
	if err != nil {
		t.Fatalf("CreateQueues() error = %v", err)
	}
	queueURL := urls["EventsQueue"]
	if queueURL == "" {
		t.Fatalf("CreateQueues() = %v, want EventsQueue", urls)
	}
	h := New(Config{QueueURL: queueURL, Secret: "old," + testSecret, Now: func() time.Time { return fixedNow }}, client)

	tests := []struct {
		name      string
		body      []byte
		minBytes  int // the queued message is at least this large
		wantPaths int
	}{
		{"push", pushBody(t), 0, 1},
		{"2048 commits whose paths just fit the budget", testkit.BigPush(t, 2048, 1, 122), envelope.MaxBodyBytes - 16*1024, 2048},
		{"2048 commits whose paths do not fit", testkit.BigPush(t, 2048, 4, 150), 0, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := guid(100 + i)
			resp, err := h.Handle(ctx, signed("push", id, tt.body, testSecret))
			if err != nil || resp.StatusCode != http.StatusAccepted {
				t.Fatalf("Handle(push) = %d %s, %v, want 202", resp.StatusCode, resp.Body, err)
			}
			out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 2,
				MessageAttributeNames: []string{"All"},
			})
			if err != nil {
				t.Fatalf("ReceiveMessage() error = %v", err)
			}
			if len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage() = %d messages, want 1", len(out.Messages))
			}
			msg := out.Messages[0]
			defer client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: msg.ReceiptHandle})
			body := aws.ToString(msg.Body)
			if len(body) < tt.minBytes || len(body) > envelope.MaxBodyBytes {
				t.Errorf("received envelope of %d bytes, want %d to %d", len(body), tt.minBytes, envelope.MaxBodyBytes)
			}
			var got envelope.Envelope
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("decode received envelope: %v", err)
			}
			var o testkit.Object
			if err := json.Unmarshal(tt.body, &o); err != nil {
				t.Fatal(err)
			}
			want := wantEnvelope("push", id, o)
			if tt.wantPaths == 0 {
				want.Push.Paths = nil // dropped to fit, as PathsIncomplete says
			}
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("received envelope\n got %.2000s\nwant %.2000s", g, w)
			}
			if len(got.Push.Paths) != tt.wantPaths {
				t.Errorf("received %d paths, want %d", len(got.Push.Paths), tt.wantPaths)
			}
			for name, want := range map[string]string{envelope.AttrDeliveryID: id, envelope.AttrEventType: "push"} {
				a, ok := msg.MessageAttributes[name]
				if !ok || aws.ToString(a.StringValue) != want || aws.ToString(a.DataType) != "String" {
					t.Errorf("received attribute %s = %+v, want String %s", name, a, want)
				}
			}
		})
	}
}

// A queue that does not exist fails SendMessage through the real SDK: GitHub gets a 503.
func TestHandleThroughSQSFailure(t *testing.T) {
	client := standin.SQS(t)
	h := New(Config{QueueURL: standin.Fauxqs(t).URL + "/000000000000/no-such-queue", Secret: testSecret}, client)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := h.Handle(ctx, signed("push", guid(43), pushBody(t), testSecret))
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Body != `{"error":"could not queue the delivery"}` {
		t.Errorf("Handle(push to a missing queue) = %d %s, %v, want 503 could not queue the delivery", resp.StatusCode, resp.Body, err)
	}
}

// TestNewWithLazyQueue: the SQS client is built on the first verified delivery and only once;
// a refused delivery and building the handler do not build it.
func TestNewWithLazyQueue(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := standin.SQS(t)
	urls, err := standin.CreateQueues(ctx, client, "ingest-lazy-")
	if err != nil {
		t.Fatalf("CreateQueues() error = %v", err)
	}
	builds := 0
	h := NewWithLazyQueue(Config{QueueURL: urls["EventsQueue"], Secret: testSecret}, func() *sqs.Client { builds++; return client })
	if builds != 0 {
		t.Fatalf("NewWithLazyQueue() built the client %d times, want 0", builds)
	}
	resp, _ := h.Handle(ctx, signed("push", guid(300), pushBody(t), "wrong-secret"))
	if resp.StatusCode != http.StatusUnauthorized || builds != 0 {
		t.Fatalf("Handle(bad signature) = %d with %d builds, want 401 and 0 builds", resp.StatusCode, builds)
	}
	for i := range 2 {
		resp, _ := h.Handle(ctx, signed("push", guid(301+i), pushBody(t), testSecret))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("Handle(push %d) = %d %s, want 202", i, resp.StatusCode, resp.Body)
		}
	}
	if builds != 1 {
		t.Errorf("two queued deliveries built the client %d times, want 1", builds)
	}
	out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(urls["EventsQueue"]), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes() error = %v", err)
	}
	if n := out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "2" {
		t.Errorf("queue holds %s messages, want 2", n)
	}
}
