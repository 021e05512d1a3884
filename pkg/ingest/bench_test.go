package ingest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// benchPayload is one body of BenchmarkIngest.
type benchPayload struct {
	name string
	body []byte
}

// benchPayloads are the real with-new-branch push (8.8 kB) and that push grown to about
// 100 kB, 1 MB and to GitHub's 2,048-commit cap (1.2 MB) by repeating its commit.
func benchPayloads(b *testing.B) []benchPayload {
	// BigPush(n, 1, 40) is 7,710 bytes plus 582 per commit after the first.
	commitsFor := func(size int) int { return 1 + (size-7710)/582 }
	return []benchPayload{
		{"8KB", pushBody(b)},
		{"100KB", testkit.BigPush(b, commitsFor(100<<10), 1, 40)},
		{"1MB", testkit.BigPush(b, commitsFor(1<<20), 1, 40)},
		{"2048commits", testkit.BigPush(b, 2048, 1, 40)},
	}
}

// BenchmarkIngest measures, side by side on the same bodies, with one webhook secret:
//   - ingest: a signed push through the whole handler (size check, headers, HMAC, the
//     one-pass envelope, JSON answer, log line and EMF line) with a queue that answers
//     at once;
//   - floor: the least any correct receiver does, HMAC-SHA256 over the body and one
//     json.Valid pass;
//   - go-github: the naive path, github.ValidateSignature and github.ParseWebHook.
//
// pkg/local/cmd/benchtable (make bench) runs it and prints the ratios.
func BenchmarkIngest(b *testing.B) {
	const secret = testSecret
	for _, p := range benchPayloads(b) {
		req := signed("push", guid(1), p.body, secret)
		sig := req.Headers["x-hub-signature-256"]
		if sig == "" {
			b.Fatalf("signed() has no x-hub-signature-256 header: %v", req.Headers)
		}
		b.Run(p.name+"/ingest", func(b *testing.B) {
			q := &fakeSender{}
			h := New(Config{
				QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/events",
				Secret:   secret,
				Log:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
				Metrics:  metrics.New(io.Discard, ""),
			}, q)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(p.body)))
			for b.Loop() {
				resp, _ := h.Handle(ctx, req)
				if resp.StatusCode != 202 {
					b.Fatalf("Handle() = %d %s", resp.StatusCode, resp.Body)
				}
				q.inputs, q.deadlines = q.inputs[:0], q.deadlines[:0]
			}
		})
		b.Run(p.name+"/floor", func(b *testing.B) {
			want, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
			if err != nil {
				b.Fatal(err)
			}
			mac := hmac.New(sha256.New, []byte(secret))
			var sum [sha256.Size]byte
			body := []byte(req.Body)
			b.ReportAllocs()
			b.SetBytes(int64(len(p.body)))
			for b.Loop() {
				mac.Reset()
				mac.Write(body)
				if !hmac.Equal(mac.Sum(sum[:0]), want) || !json.Valid(body) {
					b.Fatal("floor: bad signature or invalid JSON")
				}
			}
		})
		b.Run(p.name+"/go-github", func(b *testing.B) {
			body := []byte(req.Body)
			b.ReportAllocs()
			b.SetBytes(int64(len(p.body)))
			for b.Loop() {
				if err := github.ValidateSignature(sig, body, []byte(secret)); err != nil {
					b.Fatal(err)
				}
				ev, err := github.ParseWebHook("push", body)
				if err != nil {
					b.Fatal(err)
				}
				if _, ok := ev.(*github.PushEvent); !ok {
					b.Fatalf("ParseWebHook() = %T, want *github.PushEvent", ev)
				}
			}
		})
	}
}
