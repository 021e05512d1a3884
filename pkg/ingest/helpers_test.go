package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/testkit"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

const testSecret = "s3cret-for-tests"

var fixedNow = time.Date(2026, 5, 4, 10, 30, 0, 0, time.UTC)

// fakeSender records SendMessage calls and answers err.
type fakeSender struct {
	mu        sync.Mutex
	inputs    []*sqs.SendMessageInput
	deadlines []time.Time
	err       error
}

func (f *fakeSender) SendMessage(ctx context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inputs = append(f.inputs, in)
	d, _ := ctx.Deadline()
	f.deadlines = append(f.deadlines, d)
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.SendMessageOutput{MessageId: new(fmt.Sprintf("m-%d", len(f.inputs)))}, nil
}

func (f *fakeSender) sent() []*sqs.SendMessageInput {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*sqs.SendMessageInput(nil), f.inputs...)
}

// rig is a Handler with its fake queue, log and metrics captured.
type rig struct {
	h       *Handler
	queue   *fakeSender
	logs    *testkit.LogBuffer
	metrics *testkit.LogBuffer
}

func newRig(t testing.TB, cfg Config) *rig {
	t.Helper()
	r := &rig{queue: &fakeSender{}, logs: &testkit.LogBuffer{}, metrics: &testkit.LogBuffer{}}
	if cfg.QueueURL == "" {
		cfg.QueueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/events"
	}
	cfg.Log = slog.New(slog.NewJSONHandler(r.logs, nil))
	cfg.Metrics = metrics.New(r.metrics, "")
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return fixedNow }
	}
	r.h = New(cfg, r.queue)
	return r
}

func (r *rig) handle(t testing.TB, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := r.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle() error = %v, want nil (errors are answers)", err)
	}
	return resp
}

// request is an API Gateway v2 event for POST /webhooks/github as API Gateway builds it:
// lower-case header names, the body as text.
func request(event, delivery string, body []byte, signature string) events.APIGatewayV2HTTPRequest {
	h := map[string]string{
		"content-type":      "application/json",
		"user-agent":        "GitHub-Hookshot/044aadd",
		"x-github-event":    event,
		"x-github-delivery": delivery,
	}
	if signature != "" {
		h["x-hub-signature-256"] = signature
	}
	return events.APIGatewayV2HTTPRequest{
		Version:  "2.0",
		RouteKey: "POST /webhooks/github",
		RawPath:  "/webhooks/github",
		Headers:  h,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "POST /webhooks/github", Stage: "$default", RequestID: "req-1",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhooks/github", Protocol: "HTTP/1.1", SourceIP: "192.0.2.1"},
		},
		Body: string(body),
	}
}

// signed is request with the body signed with secret.
func signed(event, delivery string, body []byte, secret string) events.APIGatewayV2HTTPRequest {
	return request(event, delivery, body, webhook.Sign(secret, body))
}

func guid(i int) string { return fmt.Sprintf("%08x-cc78-11e3-81ab-%012x", i, i) }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// queued decodes the envelope of a SendMessage call.
func queued(t testing.TB, in *sqs.SendMessageInput) envelope.Envelope {
	t.Helper()
	var e envelope.Envelope
	if err := json.Unmarshal([]byte(*in.MessageBody), &e); err != nil {
		t.Fatalf("decode queued envelope: %v", err)
	}
	return e
}

func answer(t testing.TB, resp events.APIGatewayV2HTTPResponse) map[string]string {
	t.Helper()
	var m map[string]string
	if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
		t.Fatalf("answer %q is not a JSON object of strings: %v", resp.Body, err)
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/json" {
		t.Errorf("answer Content-Type = %q, want application/json", ct)
	}
	return m
}
