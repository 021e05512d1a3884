package ingest

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// maxLogBytesPerDelivery is the most CloudWatch Logs ingest writes for one accepted
// delivery (its line and its EMF line, with CloudWatch's 26 bytes an event), the figure
// the price model uses (pkg/processor/README.md, "Price per million deliveries"). A
// change that logs more fails TestLogBytesPerDelivery.
const maxLogBytesPerDelivery = 1024

// cloudWatchEventOverhead is what CloudWatch Logs counts for each log event beyond its
// message (PutLogEvents' batch size: the UTF-8 message plus 26 bytes).
const cloudWatchEventOverhead = 26

// TestLogBytesPerDelivery measures the log and EMF bytes ingest writes for every real
// push, pull_request, issues and installation payload, logged as production logs them
// (JSON at INFO, the default metrics namespace).
func TestLogBytesPerDelivery(t *testing.T) {
	for _, event := range []string{"push", "pull_request", "issues", "installation"} {
		t.Run(event, func(t *testing.T) {
			var out testkit.LogBuffer
			h := New(Config{
				QueueURL: "https://sqs.us-east-1.amazonaws.com/123456789012/events",
				Secret:   testSecret,
				Log:      slog.New(slog.NewJSONHandler(&out, nil)),
				Metrics:  metrics.New(&out, "RepoTrackr/GitHub"),
				Now:      func() time.Time { return fixedNow },
			}, &fakeSender{})
			payloads := testkit.Payloads(t, event)
			most, total, lines := 0, 0, 0
			for i, p := range payloads {
				before := len(out.String())
				r := &rig{h: h}
				if resp := r.handle(t, signed(event, guid(i), p.Body, testSecret)); resp.StatusCode != 202 {
					t.Fatalf("Handle(%s) = %d %s, want 202", p.Path, resp.StatusCode, resp.Body)
				}
				written := out.String()[before:]
				n := strings.Count(written, "\n")
				bytes := len(written) + n*cloudWatchEventOverhead
				most, total, lines = max(most, bytes), total+bytes, lines+n
			}
			t.Logf("ingest, %d %s deliveries: %.0f log bytes a delivery on average (%.1f lines), at most %d",
				len(payloads), event, float64(total)/float64(len(payloads)), float64(lines)/float64(len(payloads)), most)
			if most > maxLogBytesPerDelivery {
				t.Errorf("ingest log bytes for one %s delivery = %d, want at most %d", event, most, maxLogBytesPerDelivery)
			}
		})
	}
}
