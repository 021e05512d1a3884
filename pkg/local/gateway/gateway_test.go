package gateway

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie/lambdarietest"
)

// fakeFunction records the events it gets and answers with its Answer; newGateway
// gives one without an Answer a 200 "ok".
type fakeFunction = lambdarietest.Function[events.APIGatewayV2HTTPRequest]

// last is the latest event fn got.
func last(t *testing.T, fn *fakeFunction) events.APIGatewayV2HTTPRequest {
	t.Helper()
	evs := fn.Events()
	if len(evs) == 0 {
		t.Fatal("function was not invoked")
	}
	return evs[len(evs)-1]
}

var (
	testKeyOnce sync.Once
	testKey     *jwtauth.Key
)

func key(t *testing.T) *jwtauth.Key {
	t.Helper()
	testKeyOnce.Do(func() {
		pk, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		testKey = jwtauth.NewKey(pk)
	})
	return testKey
}

const (
	issuer   = "https://issuer.test/"
	audience = "repotrackr-test"
)

func token(t *testing.T, mod func(*jwtauth.Token)) string {
	t.Helper()
	tok := jwtauth.Token{Issuer: issuer, Audience: []string{audience}, Subject: "alice", TTL: time.Hour}
	if mod != nil {
		mod(&tok)
	}
	s, err := key(t).Sign(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// testMaxBody is the body limit of the test gateways, small to keep the test fast.
const testMaxBody = 64 << 10

func newGateway(t *testing.T, fns map[string]*fakeFunction, timeout time.Duration) *httptest.Server {
	t.Helper()
	invokers := map[string]Invoker{}
	for n, f := range fns {
		if f.Answer == nil {
			f.Answer = func(events.APIGatewayV2HTTPRequest) (*lambdarie.Result, error) {
				return &lambdarie.Result{Payload: []byte(`{"statusCode":200,"body":"ok"}`)}, nil
			}
		}
		invokers[n] = f
	}
	g, err := New(Config{
		Routes: []Route{
			{Method: "POST", Path: "/webhooks/github", Function: "ingest"},
			{Method: "GET", Path: "/projects", Authorizer: "BearerJwt", Function: "api"},
			{Method: "POST", Path: "/projects", Authorizer: "BearerJwt", Function: "api"},
			{Method: "GET", Path: "/projects/{id}", Authorizer: "BearerJwt", Function: "api"},
			{Method: "GET", Path: "/projects/mine", Authorizer: "BearerJwt", Function: "api"},
			{Method: "ANY", Path: "/files/{proxy+}", Function: "api"},
			{Method: "GET", Path: "/admin", Authorizer: "BearerJwt", Scopes: []string{"admin"}, Function: "api"},
		},
		Functions: invokers,
		Authorizers: map[string]*jwtauth.Authorizer{
			"BearerJwt": {Issuer: issuer, Audience: []string{audience}, Keys: map[string]*rsa.PublicKey{key(t).KID(): key(t).Public()}},
		},
		IntegrationTimeout: timeout,
		MaxBodyBytes:       testMaxBody,
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func request(t *testing.T, method, url, body string, h map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header.Set(k, v)
	}
	return req
}

func TestRoutingAndPathParameters(t *testing.T) {
	fns := map[string]*fakeFunction{"ingest": {}, "api": {}}
	srv := newGateway(t, fns, 0)
	auth := map[string]string{"Authorization": "Bearer " + token(t, nil)}
	tests := []struct {
		method, path string
		wantStatus   int
		wantRoute    string
		wantParams   map[string]string
	}{
		{"POST", "/webhooks/github", 200, "POST /webhooks/github", nil},
		{"GET", "/projects/p-1", 200, "GET /projects/{id}", map[string]string{"id": "p-1"}},
		{"GET", "/projects/a%20b", 200, "GET /projects/{id}", map[string]string{"id": "a b"}},
		{"GET", "/projects/mine", 200, "GET /projects/mine", nil},
		{"GET", "/projects", 200, "GET /projects", nil},
		{"DELETE", "/files/a/b/c.txt", 200, "ANY /files/{proxy+}", map[string]string{"proxy": "a/b/c.txt"}},
		{"GET", "/files", 404, "", nil},
		{"GET", "/webhooks/github", 404, "", nil},
		{"GET", "/projects/p-1/extra", 404, "", nil},
		{"GET", "/nope", 404, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			before := len(fns["api"].Events()) + len(fns["ingest"].Events())
			resp, body := do(t, request(t, tc.method, srv.URL+tc.path, "", auth))
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.wantStatus)
			}
			if tc.wantStatus == 404 {
				if body != `{"message":"Not Found"}` {
					t.Errorf("404 body = %s, want API Gateway's", body)
				}
				if after := len(fns["api"].Events()) + len(fns["ingest"].Events()); after != before {
					t.Errorf("a function was invoked for an unknown route")
				}
				return
			}
			fn := fns["api"]
			if strings.HasPrefix(tc.path, "/webhooks") {
				fn = fns["ingest"]
			}
			ev := last(t, fn)
			if ev.RouteKey != tc.wantRoute || ev.RequestContext.RouteKey != tc.wantRoute {
				t.Errorf("routeKey = %q / %q, want %q", ev.RouteKey, ev.RequestContext.RouteKey, tc.wantRoute)
			}
			if !reflect.DeepEqual(ev.PathParameters, tc.wantParams) {
				t.Errorf("pathParameters = %v, want %v", ev.PathParameters, tc.wantParams)
			}
		})
	}
}

func TestEventShape(t *testing.T) {
	fns := map[string]*fakeFunction{"ingest": {}, "api": {}}
	srv := newGateway(t, fns, 0)
	req := request(t, "POST", srv.URL+"/webhooks/github?a=1&a=2&b=x%20y", `{"zen":"hi"}`, map[string]string{
		"Content-Type":    "application/json",
		"X-GitHub-Event":  "ping",
		"User-Agent":      "GitHub-Hookshot/abc",
		"Cookie":          "c1=v1; c2=v2",
		"X-Hub-Signature": "sha1=x",
	})
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	before := time.Now()
	if resp, body := do(t, req); resp.StatusCode != 200 {
		t.Fatalf("POST = %d %s", resp.StatusCode, body)
	}
	ev := last(t, fns["ingest"])
	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"rawPath", ev.RawPath, "/webhooks/github"},
		{"rawQueryString", ev.RawQueryString, "a=1&a=2&b=x%20y"},
		{"queryStringParameters", ev.QueryStringParameters, map[string]string{"a": "1,2", "b": "x y"}},
		{"cookies", ev.Cookies, []string{"c1=v1", "c2=v2"}},
		{"cookie header", ev.Headers["cookie"], ""},
		{"x-github-event", ev.Headers["x-github-event"], "ping"},
		{"x-multi", ev.Headers["x-multi"], "one,two"},
		{"content-type", ev.Headers["content-type"], "application/json"},
		{"body", ev.Body, `{"zen":"hi"}`},
		{"isBase64Encoded", ev.IsBase64Encoded, false},
		{"http.method", ev.RequestContext.HTTP.Method, "POST"},
		{"http.path", ev.RequestContext.HTTP.Path, "/webhooks/github"},
		{"http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"http.userAgent", ev.RequestContext.HTTP.UserAgent, "GitHub-Hookshot/abc"},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"domainName", ev.RequestContext.DomainName, "127.0.0.1"},
		{"authorizer", ev.RequestContext.Authorizer == nil, true},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	for k := range ev.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lower case", k)
		}
	}
	if ev.RequestContext.RequestID == "" {
		t.Error("requestContext.requestId is empty")
	}
	if at := time.UnixMilli(ev.RequestContext.TimeEpoch); at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("timeEpoch = %v, want about now", at)
	}
	if _, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time); err != nil {
		t.Errorf("requestContext.time %q is not API Gateway's format: %v", ev.RequestContext.Time, err)
	}
}

func TestBodyEncoding(t *testing.T) {
	fns := map[string]*fakeFunction{"ingest": {}, "api": {}}
	srv := newGateway(t, fns, 0)
	tests := []struct {
		name, contentType, body string
		wantBase64              bool
	}{
		{"json", "application/json", `{"a":1}`, false},
		{"json charset", "application/json; charset=utf-8", `{"a":1}`, false},
		{"text", "text/plain", "hello", false},
		{"vendor json", "application/vnd.github+json", `{}`, false},
		{"form", "application/x-www-form-urlencoded", "payload=%7B%7D", true},
		{"binary", "application/octet-stream", "\x00\x01\x02", true},
		{"no content type", "", "hello", true},
		{"invalid utf-8 text", "text/plain", "\xff\xfe", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.contentType != "" {
				h["Content-Type"] = tc.contentType
			}
			do(t, request(t, "POST", srv.URL+"/webhooks/github", tc.body, h))
			ev := last(t, fns["ingest"])
			if ev.IsBase64Encoded != tc.wantBase64 {
				t.Fatalf("isBase64Encoded = %t, want %t", ev.IsBase64Encoded, tc.wantBase64)
			}
			got := ev.Body
			if ev.IsBase64Encoded {
				b, err := base64.StdEncoding.DecodeString(ev.Body)
				if err != nil {
					t.Fatalf("body is not base64: %v", err)
				}
				got = string(b)
			}
			if got != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
		})
	}
}

func TestJWTAuthorizer(t *testing.T) {
	fns := map[string]*fakeFunction{"ingest": {}, "api": {}}
	srv := newGateway(t, fns, 0)
	other, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := jwtauth.NewKey(other).Sign(jwtauth.Token{Issuer: issuer, Audience: []string{audience}, Subject: "mallory", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		path   string
		header string
		want   int
	}{
		{"valid", "/projects", "Bearer " + token(t, nil), 200},
		{"valid without Bearer prefix", "/projects", token(t, nil), 200},
		{"missing", "/projects", "", 401},
		{"garbage", "/projects", "Bearer not.a.jwt", 401},
		{"other key", "/projects", "Bearer " + forged, 401},
		{"expired", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.IssuedAt = time.Now().Add(-2 * time.Hour) }), 401},
		{"not yet valid", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.NotBefore = time.Now().Add(time.Hour) }), 401},
		{"issued in the future", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.IssuedAt = time.Now().Add(time.Hour) }), 401},
		{"wrong issuer", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.Issuer = "https://evil.test/" }), 401},
		{"wrong audience", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.Audience = []string{"other"} }), 401},
		{"one of several audiences", "/projects", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.Audience = []string{"other", audience} }), 200},
		{"scope missing", "/admin", "Bearer " + token(t, nil), 401},
		{"scope granted", "/admin", "Bearer " + token(t, func(tk *jwtauth.Token) { tk.Scopes = []string{"read", "admin"} }), 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(fns["api"].Events())
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			resp, body := do(t, request(t, "GET", srv.URL+tc.path, "", h))
			if resp.StatusCode != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, resp.StatusCode, body, tc.want)
			}
			if tc.want == 401 {
				if body != `{"message":"Unauthorized"}` {
					t.Errorf("401 body = %s, want API Gateway's", body)
				}
				if len(fns["api"].Events()) != before {
					t.Error("the function was invoked for a refused token")
				}
			}
		})
	}
	do(t, request(t, "GET", srv.URL+"/admin", "", map[string]string{"Authorization": "Bearer " + token(t, func(tk *jwtauth.Token) {
		tk.Scopes = []string{"admin"}
		tk.Extra = map[string]any{"groups": []string{"a", "b"}, "n": 7}
	})}))
	ev := last(t, fns["api"])
	jwt := ev.RequestContext.Authorizer.JWT
	for k, want := range map[string]string{"sub": "alice", "iss": issuer, "aud": audience, "groups": "[a b]", "n": "7", "scope": "admin"} {
		if got := jwt.Claims[k]; got != want {
			t.Errorf("claims[%q] = %q, want %q", k, got, want)
		}
	}
	if !reflect.DeepEqual(jwt.Scopes, []string{"admin"}) {
		t.Errorf("scopes = %v, want [admin]", jwt.Scopes)
	}
}

func TestResponseMapping(t *testing.T) {
	tests := []struct {
		name       string
		answer     *lambdarie.Result
		err        error
		wantStatus int
		wantBody   string
		wantHeader map[string][]string
	}{
		{
			name:       "structured",
			answer:     &lambdarie.Result{Payload: []byte(`{"statusCode":201,"headers":{"Content-Type":"application/json","X-A":"1"},"body":"{\"id\":\"p\"}"}`)},
			wantStatus: 201, wantBody: `{"id":"p"}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}, "X-A": {"1"}},
		},
		{
			name:       "base64 body, cookies and multi-value headers",
			answer:     &lambdarie.Result{Payload: []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"aGVsbG8=","cookies":["a=1","b=2"],"multiValueHeaders":{"X-M":["x","y"]}}`)},
			wantStatus: 200, wantBody: "hello",
			wantHeader: map[string][]string{"Set-Cookie": {"a=1", "b=2"}, "X-M": {"x", "y"}},
		},
		{
			name:       "simple object",
			answer:     &lambdarie.Result{Payload: []byte(`{"status":"ok"}`)},
			wantStatus: 200, wantBody: `{"status":"ok"}`,
			wantHeader: map[string][]string{"Content-Type": {"application/json"}},
		},
		{
			name:       "simple string",
			answer:     &lambdarie.Result{Payload: []byte(`"hello"`)},
			wantStatus: 200, wantBody: `"hello"`,
		},
		{
			name:       "function error",
			answer:     &lambdarie.Result{Payload: []byte(`{"errorMessage":"boom","errorType":"errorString"}`), FunctionError: lambdarie.FunctionErrorUnhandled},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name:       "bad status code",
			answer:     &lambdarie.Result{Payload: []byte(`{"statusCode":42}`)},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name:       "bad base64",
			answer:     &lambdarie.Result{Payload: []byte(`{"statusCode":200,"isBase64Encoded":true,"body":"%%%"}`)},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name:       "not JSON",
			answer:     &lambdarie.Result{Payload: []byte(`hello`)},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name:       "payload over Lambda's limit",
			err:        lambdarie.ErrPayloadTooLarge,
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`,
		},
		{
			name:       "emulator unavailable",
			err:        io.ErrUnexpectedEOF,
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fns := map[string]*fakeFunction{"ingest": {Answer: func(events.APIGatewayV2HTTPRequest) (*lambdarie.Result, error) {
				return tc.answer, tc.err
			}}, "api": {}}
			srv := newGateway(t, fns, 0)
			resp, body := do(t, request(t, "POST", srv.URL+"/webhooks/github", "{}", map[string]string{"Content-Type": "application/json"}))
			if resp.StatusCode != tc.wantStatus || body != tc.wantBody {
				t.Fatalf("answer = %d %q, want %d %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			for k, want := range tc.wantHeader {
				if got := resp.Header.Values(k); !reflect.DeepEqual(got, want) {
					t.Errorf("header %s = %v, want %v", k, got, want)
				}
			}
			if resp.Header.Get("Apigw-Requestid") == "" {
				t.Error("no apigw-requestid header")
			}
		})
	}
}

func TestIntegrationTimeout(t *testing.T) {
	fns := map[string]*fakeFunction{"api": {}, "ingest": {Answer: func(events.APIGatewayV2HTTPRequest) (*lambdarie.Result, error) {
		time.Sleep(300 * time.Millisecond)
		return nil, context.DeadlineExceeded
	}}}
	srv := newGateway(t, fns, 100*time.Millisecond)
	resp, body := do(t, request(t, "POST", srv.URL+"/webhooks/github", "{}", nil))
	if resp.StatusCode != 503 || body != `{"message":"Service Unavailable"}` {
		t.Errorf("answer = %d %s, want 503 Service Unavailable", resp.StatusCode, body)
	}
}

func TestRequestTooLarge(t *testing.T) {
	fns := map[string]*fakeFunction{"ingest": {}, "api": {}}
	srv := newGateway(t, fns, 0)
	resp, body := do(t, request(t, "POST", srv.URL+"/webhooks/github", strings.Repeat("a", testMaxBody+1), nil))
	if resp.StatusCode != 413 {
		t.Errorf("answer = %d %s, want 413", resp.StatusCode, body)
	}
	if len(fns["ingest"].Events()) != 0 {
		t.Error("the function was invoked with an oversized body")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	fn := &fakeFunction{}
	tests := []struct {
		name  string
		route Route
	}{
		{"unknown function", Route{Method: "GET", Path: "/a", Function: "nope"}},
		{"unknown authorizer", Route{Method: "GET", Path: "/a", Function: "f", Authorizer: "Other"}},
		{"greedy not last", Route{Method: "GET", Path: "/a/{p+}/b", Function: "f"}},
		{"relative path", Route{Method: "GET", Path: "a", Function: "f"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(Config{Routes: []Route{tc.route}, Functions: map[string]Invoker{"f": fn}}); err == nil {
				t.Errorf("New(%+v) error = nil, want an error", tc.route)
			}
		})
	}
}
