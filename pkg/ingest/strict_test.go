package ingest

import (
	"net/url"
	"strings"
	"testing"
)

// maxDepth is the JSON v2 jsontext decoder's default nesting limit, which defines strict
// JSON for ingest (the design brief's "Routes and answers").
const maxDepth = 10000

// nested is an object whose innermost value sits at depth levels: the object itself and
// depth-1 arrays inside it.
func nested(depth int) []byte {
	return []byte(`{"action":"created","x":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`)
}

// TestHandleStrictJSON: ingest queues exactly the payloads that are strict JSON (valid
// UTF-8, unique names, nesting up to jsontext's default limit) and refuses the others
// with 400 bad_payload, in both formats, whatever the event.
func TestHandleStrictJSON(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    int
	}{
		{"plain object", `{"action":"created","installation":{"id":1}}`, 202},
		{"nesting at the limit", string(nested(maxDepth)), 202},
		{"nesting one past the limit", string(nested(maxDepth + 1)), 400},
		{"ten thousand levels inside the payload object", `{"a":` + strings.Repeat(`{"a":`, maxDepth) + `1` + strings.Repeat(`}`, maxDepth) + `}`, 400},
		{"invalid UTF-8 in a value", "{\"action\":\"cr\xffated\"}", 400},
		{"invalid UTF-8 in a name", "{\"act\xc3ion\":\"created\"}", 400},
		{"truncated UTF-8 sequence", "{\"action\":\"\xe2\x82\"}", 400},
		{"lone surrogate escape", `{"action":"\ud800"}`, 400},
		{"valid surrogate pair escape", `{"action":"\ud83d\ude00"}`, 202},
		{"duplicate names that disagree", `{"action":"created","action":"deleted"}`, 400},
		{"duplicate names that agree", `{"action":"created","action":"created"}`, 400},
		{"duplicate nested names", `{"installation":{"id":1,"id":2}}`, 400},
		{"duplicate names spelled with an escape", `{"action":"created","\u0061ction":"deleted"}`, 400},
		{"same name in sibling objects", `{"a":{"id":1},"b":{"id":2}}`, 202},
		{"truncated object", `{"action":"created"`, 400},
		{"two values", `{"action":"created"} {}`, 400},
		{"not an object", `[1,2]`, 400},
	}
	for _, tt := range tests {
		for _, form := range []bool{false, true} {
			name := tt.name
			if form {
				name += " (form)"
			}
			t.Run(name, func(t *testing.T) {
				r := newRig(t, Config{Secret: testSecret})
				body := []byte(tt.payload)
				if form {
					body = []byte("payload=" + url.QueryEscape(tt.payload))
				}
				req := signed("installation", guid(1), body, testSecret)
				if form {
					req.Headers["content-type"] = "application/x-www-form-urlencoded"
				}
				resp := r.handle(t, req)
				if resp.StatusCode != tt.want {
					t.Fatalf("Handle(%.60q) = %d %s, want %d", tt.payload, resp.StatusCode, resp.Body, tt.want)
				}
				sent := len(r.queue.sent())
				if tt.want == 202 && sent != 1 || tt.want != 202 && sent != 0 {
					t.Errorf("Handle(%.60q) sent %d messages, want %d", tt.payload, sent, map[bool]int{true: 1}[tt.want == 202])
				}
				if tt.want == 400 {
					if got := answer(t, resp); got["error"] != "body is not a webhook payload" {
						t.Errorf("Handle(%.60q) answer = %s, want {\"error\":\"body is not a webhook payload\"}", tt.payload, resp.Body)
					}
					logs := r.logs.Lines(t)
					if last := logs[len(logs)-1]; last["reason"] != ReasonBadPayload {
						t.Errorf("Handle(%.60q) logged reason %v, want %s", tt.payload, last["reason"], ReasonBadPayload)
					}
				}
			})
		}
	}
}

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
