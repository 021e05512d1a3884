package envelope

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// FuzzBuild checks that Build and Marshal never panic on any payload and event type,
// and that a marshalled envelope always fits the budget and decodes again.
func FuzzBuild(f *testing.F) {
	for _, event := range []string{"push", "pull_request", "issues", "installation", "installation_repositories", "ping"} {
		for _, p := range testkit.Payloads(f, event) {
			f.Add(event, p.Body)
		}
	}
	f.Add("push", testkit.BigPush(f, 300, 4, 250))
	f.Add("issues", []byte(`{"issue":{"title":"\uffff","created_at":"0000-01-01T00:00:00+01:00"}}`))
	f.Add("star", []byte(`{}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		e, err := Build(event, "delivery", payload, received)
		if err != nil {
			return
		}
		b, err := e.Marshal(MaxBodyBytes)
		if err != nil {
			return
		}
		if len(b) > MaxBodyBytes {
			t.Fatalf("len(Marshal()) = %d, want <= %d", len(b), MaxBodyBytes)
		}
		var back Envelope
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("decode Marshal() = %v", err)
		}
		// Invalid UTF-8 in the event type comes back as U+FFFD; the handler never lets it in.
		if (utf8.ValidString(event) && back.EventType != event) || back.DeliveryID != "delivery" {
			t.Fatalf("decode Marshal() = %q %q, want %q delivery", back.EventType, back.DeliveryID, event)
		}
	})
}
