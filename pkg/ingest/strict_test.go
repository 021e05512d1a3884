package ingest

import (
	"strings"
	"testing"
)

// TestNotStrictJSONRefused: a signed payload that encoding/json alone would take but
// that is not strict JSON, or whose envelope fields have the wrong JSON type, is
// answered 400 bad_payload and nothing is queued.
func TestNotStrictJSONRefused(t *testing.T) {
	tests := []struct{ name, body string }{
		{"duplicate name", `{"ref":"refs/heads/main","ref":"refs/heads/other","commits":[]}`},
		{"duplicate name in a skipped object", `{"ref":"refs/heads/main","pusher":{"name":"a","name":"b"}}`},
		{"invalid UTF-8", "{\"ref\":\"refs/heads/\xff\"}"},
		{"nesting past 10,000", `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{"a second value", `{"ref":"refs/heads/main"} {}`},
		{"ref not a string", `{"ref":7}`},
		{"commits not a list", `{"ref":"refs/heads/main","commits":{"added":["a"]}}`},
		{"repository id not an integer", `{"ref":"refs/heads/main","repository":{"id":1.5}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{Secret: testSecret})
			resp := r.handle(t, signed("push", guid(1), []byte(tt.body), testSecret))
			if resp.StatusCode != 400 {
				t.Fatalf("Handle(%s) = %d %s, want 400", tt.name, resp.StatusCode, resp.Body)
			}
			if got := answer(t, resp)["error"]; got != "body is not a webhook payload" {
				t.Errorf("Handle(%s) error = %q, want %q", tt.name, got, "body is not a webhook payload")
			}
			if !strings.Contains(r.logs.String(), `"reason":"`+ReasonBadPayload+`"`) {
				t.Errorf("log = %s, want reason %s", r.logs.String(), ReasonBadPayload)
			}
			if n := len(r.queue.sent()); n != 0 {
				t.Errorf("queued %d messages, want 0", n)
			}
		})
	}
}
