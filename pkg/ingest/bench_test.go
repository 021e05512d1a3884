package ingest

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/repotrackr/github-integration/pkg/metrics"
)

// BenchmarkHandle is one signed push (the real with-new-branch payload, 8.8 kB) through
// the whole handler — size check, headers, HMAC, envelope, JSON answer, log line and EMF
// line — with a queue that answers at once.
func BenchmarkHandle(b *testing.B) {
	push := pushBody(b)
	h := New(Config{
		QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/events",
		Secret:   "previous," + testSecret,
		Log:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Metrics:  metrics.New(io.Discard, ""),
	}, &fakeSender{})
	req := signed("push", guid(1), push, testSecret)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(push)))
	for b.Loop() {
		resp, _ := h.Handle(ctx, req)
		if resp.StatusCode != 202 {
			b.Fatalf("Handle() = %d %s", resp.StatusCode, resp.Body)
		}
		h.queue.(*fakeSender).inputs = nil
	}
}
