package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/envelope"
	"github.com/repotrackr/github-integration/pkg/testkit"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

func pushBody(t testing.TB) []byte {
	t.Helper()
	return testkit.PayloadBytes(t, "push/with-new-branch.payload.json")
}

func formBody(payload []byte) []byte {
	return []byte("payload=" + url.QueryEscape(string(payload)))
}

func TestHandleRejects(t *testing.T) {
	push := pushBody(t)
	sha256Hex := strings.TrimPrefix(webhook.Sign(testSecret, push), "sha256=")
	const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	tests := []struct {
		name       string
		secret     string // the handler's; testSecret when empty
		req        func() events.APIGatewayV2HTTPRequest
		sendErr    error
		maxMessage int
		wantStatus int
		wantError  string
		wantReason string
	}{
		{name: "missing signature", req: func() events.APIGatewayV2HTTPRequest { return request("push", id, push, "") },
			wantStatus: 401, wantError: "missing X-Hub-Signature-256 header", wantReason: ReasonMissingSignature},
		{name: "SHA-1 signature alone", req: func() events.APIGatewayV2HTTPRequest {
			r := request("push", id, push, "")
			r.Headers["x-hub-signature"] = "sha1=" + strings.Repeat("ab", 20)
			return r
		}, wantStatus: 401, wantError: "missing X-Hub-Signature-256 header", wantReason: ReasonMissingSignature},
		{name: "wrong secret", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, "not-the-secret") },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonBadSignature},
		{name: "signature of another body", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Body = strings.Replace(r.Body, "Codertocat", "Codertocad", 1)
			return r
		}, wantStatus: 401, wantError: "invalid signature", wantReason: ReasonBadSignature},
		{name: "malformed hex", req: func() events.APIGatewayV2HTTPRequest {
			return request("push", id, push, "sha256="+strings.Repeat("g", 64))
		}, wantStatus: 401, wantError: "invalid signature", wantReason: ReasonMalformedSignature},
		{name: "truncated hex", req: func() events.APIGatewayV2HTTPRequest { return request("push", id, push, "sha256="+sha256Hex[:63]) },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonMalformedSignature},
		{name: "wrong prefix", req: func() events.APIGatewayV2HTTPRequest { return request("push", id, push, "sha1="+sha256Hex) },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonMalformedSignature},
		{name: "no prefix", req: func() events.APIGatewayV2HTTPRequest { return request("push", id, push, sha256Hex) },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonMalformedSignature},
		{name: "no secret configured", secret: " , ", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, "") },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonNoSecret},
		{name: "no secret configured, unsigned", secret: ",", req: func() events.APIGatewayV2HTTPRequest { return request("push", id, push, "") },
			wantStatus: 401, wantError: "invalid signature", wantReason: ReasonNoSecret},
		{name: "missing X-GitHub-Event", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			delete(r.Headers, "x-github-event")
			return r
		}, wantStatus: 400, wantError: "missing X-GitHub-Event or X-GitHub-Delivery header", wantReason: ReasonMissingHeader},
		{name: "missing X-GitHub-Delivery", req: func() events.APIGatewayV2HTTPRequest { return signed("push", "", push, testSecret) },
			wantStatus: 400, wantError: "missing X-GitHub-Event or X-GitHub-Delivery header", wantReason: ReasonMissingHeader},
		{name: "delivery id that is no GUID", req: func() events.APIGatewayV2HTTPRequest { return signed("push", "id with\nnewline", push, testSecret) },
			wantStatus: 400, wantError: "invalid X-GitHub-Event or X-GitHub-Delivery header", wantReason: ReasonBadHeader},
		{name: "event that is no event name", req: func() events.APIGatewayV2HTTPRequest { return signed("Push Event", id, push, testSecret) },
			wantStatus: 400, wantError: "invalid X-GitHub-Event or X-GitHub-Delivery header", wantReason: ReasonBadHeader},
		{name: "not JSON", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, []byte("Hello, World!"), testSecret) },
			wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "JSON array", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, []byte(`[{"ref":"x"}]`), testSecret) },
			wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "truncated JSON", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, push[:len(push)/2], testSecret) },
			wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "empty body", req: func() events.APIGatewayV2HTTPRequest { return signed("push", id, nil, testSecret) },
			wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "form without payload", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, []byte("data="+url.QueryEscape(string(push))), testSecret)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}, wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "form payload not JSON", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, []byte("payload=hello"), testSecret)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}, wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "JSON body labelled as form", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}, wantStatus: 400, wantError: "body is not a webhook payload", wantReason: ReasonBadPayload},
		{name: "bad base64", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Body, r.IsBase64Encoded = "not*base64!", true
			return r
		}, wantStatus: 400, wantError: "body is not valid base64", wantReason: ReasonBadEncoding},
		{name: "unsupported content type", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Headers["content-type"] = "text/plain"
			return r
		}, wantStatus: 415, wantError: "content type must be application/json or application/x-www-form-urlencoded", wantReason: ReasonUnsupportedMedia},
		{name: "missing content type", req: func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			delete(r.Headers, "content-type")
			return r
		}, wantStatus: 415, wantError: "content type must be application/json or application/x-www-form-urlencoded", wantReason: ReasonUnsupportedMedia},
		{name: "unsupported content type, unsigned", req: func() events.APIGatewayV2HTTPRequest {
			r := request("push", id, push, "")
			r.Headers["content-type"] = "multipart/form-data; boundary=x"
			return r
		}, wantStatus: 415, wantError: "content type must be application/json or application/x-www-form-urlencoded", wantReason: ReasonUnsupportedMedia},
		{name: "body over the limit", req: func() events.APIGatewayV2HTTPRequest {
			body := append([]byte(`{"zen":"`), make([]byte, MaxBodyBytes)...)
			return signed("ping", id, append(body, `"}`...), testSecret)
		}, wantStatus: 413, wantError: "payload too large", wantReason: ReasonTooLarge},
		{name: "base64 body whose length implies more than the limit, refused before decoding", req: func() events.APIGatewayV2HTTPRequest {
			r := request("push", id, nil, "")
			r.Body, r.IsBase64Encoded = strings.Repeat("!", base64.StdEncoding.EncodedLen(MaxBodyBytes)+4), true
			return r
		}, wantStatus: 413, wantError: "payload too large", wantReason: ReasonTooLarge},
		{name: "base64 body over the limit", req: func() events.APIGatewayV2HTTPRequest {
			r := request("push", id, nil, "")
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(make([]byte, MaxBodyBytes+1)), true
			return r
		}, wantStatus: 413, wantError: "payload too large", wantReason: ReasonTooLarge},
		{name: "queue failure", sendErr: errors.New("operation error SQS: SendMessage, https response error StatusCode: 500, RequestID: abc, api error InternalError"),
			req:        func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, testSecret) },
			wantStatus: 503, wantError: "could not queue the delivery", wantReason: ReasonEnqueueFailed},
		{name: "envelope over the message budget", maxMessage: 200,
			req:        func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, testSecret) },
			wantStatus: 413, wantError: "payload too large", wantReason: ReasonEnvelopeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := tt.secret
			if secret == "" {
				secret = testSecret
			}
			r := newRig(t, Config{Secret: secret, MaxMessageBytes: tt.maxMessage})
			r.queue.err = tt.sendErr
			resp := r.handle(t, tt.req())
			got := answer(t, resp)
			if resp.StatusCode != tt.wantStatus || len(got) != 1 || got["error"] != tt.wantError {
				t.Errorf("Handle() = %d %s, want %d {\"error\":%q}", resp.StatusCode, resp.Body, tt.wantStatus, tt.wantError)
			}
			if sent := r.queue.sent(); len(sent) > 0 && tt.sendErr == nil {
				t.Errorf("Handle() sent %d messages for a refused delivery, want 0", len(sent))
			}
			logs := r.logs.Lines(t)
			last := logs[len(logs)-1]
			if last["reason"] != tt.wantReason || last["status"] != float64(tt.wantStatus) {
				t.Errorf("Handle() logged reason %v status %v, want %s %d", last["reason"], last["status"], tt.wantReason, tt.wantStatus)
			}
			emf := r.metrics.Lines(t)
			if len(emf) != 1 || emf[0]["Reason"] != tt.wantReason || emf[0]["DeliveriesRejected"] != 1.0 || emf[0]["DeliveriesReceived"] != 1.0 {
				t.Errorf("Handle() metrics = %v, want one line with Reason %s, DeliveriesRejected 1", emf, tt.wantReason)
			}
			if _, ok := emf[0]["EventType"]; ok {
				t.Errorf("Handle() metrics of a refused delivery have an EventType dimension: %v", emf[0])
			}
		})
	}
}

func TestHandleAccepts(t *testing.T) {
	push := pushBody(t)
	const id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
	form := formBody(push)
	tests := []struct {
		name   string
		secret string
		req    func() events.APIGatewayV2HTTPRequest
	}{
		{"json", testSecret, func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, testSecret) }},
		{"json with charset", testSecret, func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Headers["content-type"] = "application/json; charset=utf-8"
			return r
		}},
		{"base64 json", testSecret, func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, push, testSecret)
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(push), true
			return r
		}},
		{"form, signature over the raw form body", testSecret, func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, form, testSecret)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			return r
		}},
		{"base64 form, as API Gateway passes it", testSecret, func() events.APIGatewayV2HTTPRequest {
			r := signed("push", id, form, testSecret)
			r.Headers["content-type"] = "application/x-www-form-urlencoded"
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(form), true
			return r
		}},
		{"mixed-case header names", testSecret, func() events.APIGatewayV2HTTPRequest {
			return events.APIGatewayV2HTTPRequest{Body: string(push), Headers: map[string]string{
				"Content-Type":        "Application/Json",
				"X-GitHub-Event":      "push",
				"X-Github-Delivery":   id,
				"X-HUB-SIGNATURE-256": webhook.Sign(testSecret, push),
			}}
		}},
		{"new secret during rotation", "new-secret, old-secret", func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, "new-secret") }},
		{"old secret during rotation", "new-secret, old-secret", func() events.APIGatewayV2HTTPRequest { return signed("push", id, push, "old-secret") }},
		{"body of exactly the limit", testSecret, func() events.APIGatewayV2HTTPRequest {
			body := append([]byte(nil), push...)
			body = append(body, strings.Repeat(" ", MaxBodyBytes-len(body))...)
			r := signed("push", id, body, testSecret)
			r.Body, r.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			return r
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, Config{Secret: tt.secret})
			resp := r.handle(t, tt.req())
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("Handle() = %d %s, want 202", resp.StatusCode, resp.Body)
			}
			sent := r.queue.sent()
			if len(sent) != 1 {
				t.Fatalf("Handle() sent %d messages, want 1", len(sent))
			}
			e := queued(t, sent[0])
			if e.DeliveryID != id || e.EventType != "push" || e.Push == nil || len(e.Push.Paths) != 1 || e.Push.Paths[0] != "README.md" || e.Repository.FullName != "Codertocat/Hello-World" {
				t.Errorf("Handle() queued %+v, want the push of Codertocat/Hello-World adding README.md", e)
			}
		})
	}
}

func TestHandleRotationRefusesThirdSecret(t *testing.T) {
	push := pushBody(t)
	r := newRig(t, Config{Secret: "new-secret,old-secret"})
	resp := r.handle(t, signed("push", guid(1), push, "older-secret"))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Handle(signed with a third secret) = %d, want 401", resp.StatusCode)
	}
}

// GitHub's documented vector passes verification: the body, which is no JSON, is then
// refused as a payload (400), not as a signature (401).
func TestHandleGitHubTestVector(t *testing.T) {
	r := newRig(t, Config{Secret: "It's a Secret to Everybody"})
	resp := r.handle(t, request("push", guid(1), []byte("Hello, World!"),
		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"))
	if resp.StatusCode != http.StatusBadRequest || answer(t, resp)["error"] != "body is not a webhook payload" {
		t.Errorf("Handle(GitHub's test vector) = %d %s, want 400 body is not a webhook payload", resp.StatusCode, resp.Body)
	}
}

func TestHandleLogsAndMetrics(t *testing.T) {
	push := pushBody(t)
	r := newRig(t, Config{Secret: testSecret})
	sig := webhook.Sign(testSecret, push)
	r.handle(t, signed("push", guid(7), push, testSecret))
	r.handle(t, signed("push", guid(8), push, "wrong"))
	r.handle(t, signed("ping", guid(9), []byte(`{"zen":"Design for failure.","hook_id":1}`), testSecret))

	logs := r.logs.Lines(t)
	if len(logs) != 3 {
		t.Fatalf("Handle() x3 logged %d lines, want 3: %s", len(logs), r.logs)
	}
	want := []map[string]any{
		{"github_delivery_id": guid(7), "github_event_type": "push", "github_installation_id": 1.0, "repo": "Codertocat/Hello-World",
			"outcome": OutcomeQueued, "status": 202.0, "action": nil, "reason": nil},
		{"github_delivery_id": guid(8), "github_event_type": "push", "github_installation_id": nil, "repo": nil,
			"outcome": OutcomeRejected, "status": 401.0, "reason": ReasonBadSignature},
		{"github_delivery_id": guid(9), "github_event_type": "ping", "outcome": OutcomePong, "status": 200.0, "reason": nil},
	}
	for i, w := range want {
		for k, v := range w {
			if logs[i][k] != v {
				t.Errorf("log line %d %s = %v, want %v", i, k, logs[i][k], v)
			}
		}
		if _, ok := logs[i]["duration_ms"].(float64); !ok {
			t.Errorf("log line %d has no duration_ms: %v", i, logs[i])
		}
	}
	for _, secretish := range []string{testSecret, sig, strings.TrimPrefix(sig, "sha256="), "Initial commit", "Design for failure"} {
		if strings.Contains(r.logs.String(), secretish) || strings.Contains(r.metrics.String(), secretish) {
			t.Errorf("logs or metrics contain %q", secretish)
		}
	}

	emf := r.metrics.Lines(t)
	if len(emf) != 3 {
		t.Fatalf("Handle() x3 wrote %d EMF lines, want 3", len(emf))
	}
	checks := []map[string]any{
		{"EventType": "push", "DeliveriesReceived": 1.0, "DeliveriesQueued": 1.0, "DeliveriesRejected": nil},
		{"Reason": ReasonBadSignature, "DeliveriesReceived": 1.0, "DeliveriesRejected": 1.0, "DeliveriesQueued": nil, "EventType": nil},
		{"EventType": "ping", "DeliveriesReceived": 1.0, "DeliveriesQueued": nil, "DeliveriesRejected": nil},
	}
	for i, c := range checks {
		for k, v := range c {
			if emf[i][k] != v {
				t.Errorf("EMF line %d %s = %v, want %v", i, k, emf[i][k], v)
			}
		}
		if _, ok := emf[i]["IngestLatency"].(float64); !ok || emf[i]["github_delivery_id"] != guid(7+i) {
			t.Errorf("EMF line %d = %v, want IngestLatency and github_delivery_id %s", i, emf[i], guid(7+i))
		}
		aws, _ := emf[i]["_aws"].(map[string]any)
		if aws == nil {
			t.Errorf("EMF line %d has no _aws directive: %v", i, emf[i])
		}
	}
}

func TestNewLogsMissingSecretOnce(t *testing.T) {
	r := newRig(t, Config{Secret: ""})
	for i := range 3 {
		r.handle(t, signed("push", guid(i), pushBody(t), ""))
	}
	n := 0
	for _, l := range r.logs.Lines(t) {
		if strings.HasPrefix(l["msg"].(string), "no webhook secret configured") {
			n++
		} else if l["reason"] != ReasonNoSecret || l["level"] != "WARN" {
			t.Errorf("delivery logged %v, want reason %s at WARN", l, ReasonNoSecret)
		}
	}
	if n != 1 {
		t.Errorf("logs report the missing secret %d times, want once: %s", n, r.logs)
	}
}

func TestHandleKeepsTimeToAnswer(t *testing.T) {
	push := pushBody(t)
	r := newRig(t, Config{Secret: testSecret})
	deadline := time.Now().Add(5 * time.Second)
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if _, err := r.h.Handle(ctx, signed("push", guid(1), push, testSecret)); err != nil {
		t.Fatal(err)
	}
	if got, want := r.queue.deadlines[0], deadline.Add(-sendMargin); !got.Equal(want) {
		t.Errorf("SendMessage deadline = %v, want %v (the invocation's less %v)", got, want, sendMargin)
	}
}

func TestHandlePush2048Commits(t *testing.T) {
	body := testkit.BigPush(t, 2048, 4, 150)
	if len(body) > MaxBodyBytes {
		t.Fatalf("synthetic push is %d bytes, over the %d limit", len(body), MaxBodyBytes)
	}
	r := newRig(t, Config{Secret: testSecret})
	resp := r.handle(t, signed("push", guid(1), body, testSecret))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("Handle(2048 commits) = %d %s, want 202", resp.StatusCode, resp.Body)
	}
	msg := r.queue.sent()[0]
	e := queued(t, msg)
	if len(*msg.MessageBody) > envelope.MaxBodyBytes || e.Push.Paths != nil || !e.Push.PathsIncomplete {
		t.Errorf("Handle(2048 commits) queued %d bytes, %d paths, incomplete %t, want <= %d, none, true",
			len(*msg.MessageBody), len(e.Push.Paths), e.Push.PathsIncomplete, envelope.MaxBodyBytes)
	}
}
