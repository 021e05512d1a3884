package ingest

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// devSecret is the development webhook secret the sample events are signed with.
const devSecret = "repotrackr-dev-secret"

func TestSampleEvents(t *testing.T) {
	root, err := standin.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		status int
		queued bool
	}{
		"push.json":          {http.StatusAccepted, true},
		"ping.json":          {http.StatusOK, false},
		"bad-signature.json": {http.StatusUnauthorized, false},
		"form.json":          {http.StatusAccepted, true},
	}
	files, err := filepath.Glob(filepath.Join(root, "events", "ingest", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample events under events/ingest: %v", err)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("events/ingest/%s has no expected answer in this test", name)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(readFile(t, file), &req); err != nil {
				t.Fatalf("decode %s: %v", name, err)
			}
			r := newRig(t, Config{Secret: devSecret})
			resp := r.handle(t, req)
			if resp.StatusCode != w.status {
				t.Errorf("Handle(%s) = %d %s, want %d", name, resp.StatusCode, resp.Body, w.status)
			}
			if got := len(r.queue.sent()); got != map[bool]int{true: 1}[w.queued] {
				t.Errorf("Handle(%s) sent %d messages, want queued %t", name, got, w.queued)
			}
		})
	}
	if len(files) != len(want) {
		t.Errorf("events/ingest has %d events, want the %d this test expects", len(files), len(want))
	}
}
