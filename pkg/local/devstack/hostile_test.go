package devstack

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guregu/dynamo/v2"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/webhook"
)

// hostileCase is one attack on a public route and the answer the design brief
// ("Routes and answers") and the API's README document for it.
type hostileCase struct {
	name    string
	method  string
	path    string // with its query
	headers map[string]string
	body    []byte
	token   string // bearer token; none when empty
	want    int
	// gateway: the answer is API Gateway's own ({"message": …}), not the function's.
	gateway bool
	// delivery is the X-GitHub-Delivery of a webhook case, looked up in the event log.
	delivery string
}

// TestHostileInput sends the attacks a public webhook endpoint and API meet to one local
// stack running the real function binaries, and checks that each gets its documented
// 4xx, that nothing reaches the events queue or the tables, and that no answer carries
// internals: Go error text, stack traces, file paths, AWS or SDK names, secrets, tokens.
func TestHostileInput(t *testing.T) {
	// The table sends by hand: no webhook from the sandbox may move the queue.
	e := startE2E(t, 5*time.Minute, func(o *Options) { o.NoWatch = true })
	ctx, stack, root, tpl := e.ctx, e.stack, e.root, e.tpl

	// Fixtures, all made before the baseline is taken: the dev user's installation and
	// project, a repository they could register, another account's installation, and
	// install states in every condition.
	const spare = DemoOwner + "/hostile-spare"
	if err := stack.Sandbox.WriteFile(DemoOwner, "hostile-spare", DemoPlanPath, []byte("# Plan\n\n- [ ] one\n")); err != nil {
		t.Fatal(err)
	}
	if err := stack.Sandbox.AddInstallation(ghsandbox.Installation{ID: 4242, Account: "other-org", AccountType: "Organization",
		Repos: []string{"other-org/secret-repo"}, Users: []string{"other-org-admin"}}); err != nil {
		t.Fatal(err)
	}
	dev, project := devProject(t, ctx, stack)
	mallory, err := stack.DevToken("mallory", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// A state used once already, by its own user.
	used := installQuery(t, ctx, stack, stack.Token)
	if err := dev.Do(ctx, http.MethodGet, "/auth/github/install?"+used.Encode(), nil, nil); err != nil {
		t.Fatalf("first use of a state: %v", err)
	}
	ofMallory := installQuery(t, ctx, stack, mallory)
	spoofed := installQuery(t, ctx, stack, stack.Token)
	spoofed.Set("installation_id", "4242")
	forged := installQuery(t, ctx, stack, stack.Token)
	forged.Set("state", forgeState(forged.Get("state")))
	expired := installQuery(t, ctx, stack, stack.Token)
	key, err := stack.st.namedSecret("STATE_SIGNING_KEY")
	if err != nil {
		t.Fatal(err)
	}
	expired.Set("state", signState(key, "install", strings.Repeat("ab", 16), time.Now().Add(-time.Minute)))

	webhookPath := "/webhooks/github"
	pushBody, err := PushTemplate(root)
	if err != nil {
		t.Fatal(err)
	}
	secret := stack.WebhookSecret
	sign := func(b []byte) string { return webhook.Sign(secret, b) }
	delivery := func(name string, body []byte, h map[string]string, want int, gateway bool) hostileCase {
		id := lambdarie.NewUUID()
		headers := map[string]string{"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/hostile",
			webhook.HeaderEvent: "push", webhook.HeaderDelivery: id}
		for k, v := range h {
			if v == "" {
				delete(headers, k)
				continue
			}
			headers[k] = v
		}
		return hostileCase{name: "webhook: " + name, method: http.MethodPost, path: webhookPath, headers: headers,
			body: body, want: want, gateway: gateway, delivery: id}
	}
	other := bytes.Replace(pushBody, []byte(`"refs/heads/`), []byte(`"refs/heads/x`), 1)
	truncated := pushBody[:len(pushBody)/2]
	// Bodies over ingest's 4.5 MiB limit: one whose event still fits Lambda's 6 MB (ingest
	// answers), one that does not (API Gateway answers, as Lambda refuses the invocation).
	over := func(n int) []byte { return []byte(`{"zen":"` + strings.Repeat("x", n) + `"}`) }
	overIngest, overLambda := over(4608*1024+1), over(7<<20)
	form := []byte("payload=" + url.QueryEscape(string(over(4608*1024))))
	deep := []byte(`{"zen":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`)
	invalidUTF8 := []byte("{\"zen\":\"caf\xe9\",\"installation\":{\"id\":1}}")
	dupKeys := []byte(`{"ref":"refs/heads/main","installation":{"id":1},"repository":{"full_name":"` + DemoRepo + `"},"repository":{"full_name":"other-org/secret-repo"}}`)
	dupID := []byte(`{"installation":{"id":1,"id":4242},"action":"created"}`)
	hmacHex := func(h func() hash.Hash, b []byte) string {
		m := hmac.New(h, []byte(secret))
		m.Write(b)
		return hex.EncodeToString(m.Sum(nil))
	}

	api := func(name, method, path string, body []byte, token string, want int) hostileCase {
		h := map[string]string{}
		if body != nil {
			h["Content-Type"] = "application/json"
		}
		return hostileCase{name: name, method: method, path: path, headers: h, body: body, token: token, want: want}
	}
	planPath := func(p string) []byte {
		b, _ := json.Marshal(map[string]string{"repo": spare, "plan_path": p})
		return b
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	digits := func(n int) string { return strings.Repeat("9", n) }
	callback := func(q url.Values) string { return "/auth/github/install?" + q.Encode() }

	cases := []hostileCase{
		delivery("unsigned", pushBody, nil, 401, false),
		delivery("wrong secret", pushBody, map[string]string{webhook.HeaderSignature256: webhook.Sign("not-"+secret, pushBody)}, 401, false),
		delivery("valid signature replayed on another body", other, map[string]string{webhook.HeaderSignature256: sign(pushBody)}, 401, false),
		delivery("SHA-1 signature only", pushBody, map[string]string{webhook.HeaderSignatureSHA1: "sha1=" + hmacHex(sha1.New, pushBody)}, 401, false),
		delivery("sha512= signature", pushBody, map[string]string{webhook.HeaderSignature256: "sha512=" + hmacHex(sha512.New, pushBody)}, 401, false),
		delivery("sha512 value under sha256=", pushBody, map[string]string{webhook.HeaderSignature256: "sha256=" + hmacHex(sha512.New, pushBody)}, 401, false),
		delivery("truncated body, signature of the whole", truncated, map[string]string{webhook.HeaderSignature256: sign(pushBody)}, 401, false),
		delivery("truncated body, signed", truncated, map[string]string{webhook.HeaderSignature256: sign(truncated)}, 400, false),
		delivery("body over 4.5 MiB", overIngest, map[string]string{webhook.HeaderSignature256: sign(overIngest)}, 413, false),
		delivery("body over Lambda's 6 MB", overLambda, map[string]string{webhook.HeaderSignature256: sign(overLambda)}, 413, true),
		// A form body reaches Lambda base64-encoded: over 4.5 MiB, its event is over 6 MB.
		delivery("form body over 4.5 MiB", form, map[string]string{"Content-Type": "application/x-www-form-urlencoded", webhook.HeaderSignature256: sign(form)}, 413, true),
		delivery("invalid UTF-8", invalidUTF8, map[string]string{webhook.HeaderSignature256: sign(invalidUTF8)}, 400, false),
		delivery("10,000-deep nesting", deep, map[string]string{webhook.HeaderSignature256: sign(deep)}, 400, false),
		delivery("duplicate keys that disagree", dupKeys, map[string]string{webhook.HeaderSignature256: sign(dupKeys)}, 400, false),
		delivery("spoofed installation id by a duplicate key", dupID, map[string]string{webhook.HeaderEvent: "installation", webhook.HeaderSignature256: sign(dupID)}, 400, false),
		delivery("no event header", pushBody, map[string]string{webhook.HeaderEvent: "", webhook.HeaderSignature256: sign(pushBody)}, 400, false),
		delivery("oversized delivery id", pushBody, map[string]string{webhook.HeaderDelivery: long(4096), webhook.HeaderSignature256: sign(pushBody)}, 400, false),
		delivery("content type text/plain", pushBody, map[string]string{"Content-Type": "text/plain", webhook.HeaderSignature256: sign(pushBody)}, 415, false),

		api("install: forged state", http.MethodGet, callback(forged), nil, stack.Token, 400),
		api("install: expired state", http.MethodGet, callback(expired), nil, stack.Token, 400),
		api("install: replayed state", http.MethodGet, callback(used), nil, stack.Token, 400),
		api("install: another user's state", http.MethodGet, callback(ofMallory), nil, stack.Token, 403),
		api("install: spoofed installation id", http.MethodGet, callback(spoofed), nil, stack.Token, 403),
		api("install: oversized state", http.MethodGet, "/auth/github/install?installation_id=1&setup_action=install&code=x&state="+long(8000), nil, stack.Token, 400),
		gatewayAnswer(api("install: no token", http.MethodGet, callback(installQuery(t, ctx, stack, stack.Token)), nil, "", 401)),
		gatewayAnswer(api("projects: forged token", http.MethodGet, "/projects", nil, forgeToken(stack.Token), 401)),

		api("another user's project", http.MethodGet, "/projects/"+project.ID, nil, mallory, 404),
		api("another user's project snapshots", http.MethodGet, "/projects/"+project.ID+"/snapshots", nil, mallory, 404),
		api("delete another user's project", http.MethodDelete, "/projects/"+project.ID, nil, mallory, 404),
		api("project on another user's installation", http.MethodPost, "/projects", []byte(`{"repo":"`+spare+`"}`), mallory, 403),
		api("project on another account's installation", http.MethodPost, "/projects", []byte(`{"repo":"other-org/secret-repo"}`), stack.Token, 403),

		api("plan_path ../../etc/passwd", http.MethodPost, "/projects", planPath("../../etc/passwd"), stack.Token, 400),
		api("plan_path docs/../../etc/passwd", http.MethodPost, "/projects", planPath("docs/../../etc/passwd"), stack.Token, 400),
		api("plan_path absolute", http.MethodPost, "/projects", planPath("/etc/passwd"), stack.Token, 400),
		api("plan_path backslashes", http.MethodPost, "/projects", planPath(`..\..\etc\passwd`), stack.Token, 400),
		api("plan_path NUL", http.MethodPost, "/projects", planPath("docs/plan.md\x00.png"), stack.Token, 400),
		api("plan_path dot segment", http.MethodPost, "/projects", planPath("docs/./plan.md"), stack.Token, 400),
		api("plan_path over 1 KiB", http.MethodPost, "/projects", planPath(long(1025)), stack.Token, 400),
		api("project body with duplicate keys", http.MethodPost, "/projects", []byte(`{"repo":"`+spare+`","plan_path":"../../etc/passwd","plan_path":"docs/plan.md"}`), stack.Token, 400),
		api("project body with invalid UTF-8", http.MethodPost, "/projects", []byte("{\"repo\":\""+spare+"\",\"issue_label\":\"a\xffb\"}"), stack.Token, 400),

		api("oversized cursor", http.MethodGet, "/projects?cursor="+long(8000), nil, stack.Token, 400),
		api("oversized limit", http.MethodGet, "/projects?limit="+digits(8000), nil, stack.Token, 400),
		api("oversized snapshots cursor", http.MethodGet, "/projects/"+project.ID+"/snapshots?cursor="+long(8000), nil, stack.Token, 400),
		api("oversized events repo", http.MethodGet, "/webhooks/github/events?repo="+long(8000), nil, stack.Token, 400),
		api("oversized events cursor", http.MethodGet, "/webhooks/github/events?cursor="+long(8000), nil, stack.Token, 400),
		api("oversized events limit", http.MethodGet, "/webhooks/github/events?limit="+digits(8000), nil, stack.Token, 400),
		api("oversized events since", http.MethodGet, "/webhooks/github/events?since="+digits(8000), nil, stack.Token, 400),
		api("oversized stats hours", http.MethodGet, "/webhooks/github/events/stats?hours="+digits(8000), nil, stack.Token, 400),
	}

	quiet(t, ctx, stack)
	before := storedCounts(t, ctx, stack)
	secrets := []string{secret, stack.Token, mallory, key, stack.RegistrationToken}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, ctype, body := send(t, ctx, stack.Info.GatewayURL, tc)
			if status != tc.want {
				t.Errorf("%s %.80s = %d %.300s, want %d", tc.method, tc.path, status, body, tc.want)
			}
			checkErrorBody(t, tc, ctype, body, secrets)
			if n, err := stack.QueueDepth(ctx, "EventsQueue"); err != nil || n != 0 {
				t.Errorf("EventsQueue depth after %s = %d (%v), want 0", tc.name, n, err)
			}
		})
	}
	// Past the poller's batching window: had anything been queued, the processor would
	// have logged it by now.
	time.Sleep(1500 * time.Millisecond)
	for _, tc := range cases {
		if tc.delivery != "" {
			if e := findDelivery(t, ctx, stack, tc.delivery); e != nil {
				t.Errorf("%s: delivery reached the event log: %+v", tc.name, e)
			}
		}
	}
	for _, q := range []string{"EventsQueue", deadLetterQueue(t, tpl)} {
		if n, err := stack.QueueDepth(ctx, q); err != nil || n != 0 {
			t.Errorf("%s depth after the attacks = %d (%v), want 0", q, n, err)
		}
	}
	after := storedCounts(t, ctx, stack)
	for table, n := range before {
		if after[table] != n {
			t.Errorf("%s holds %d items after the attacks, want %d as before", table, after[table], n)
		}
	}
}

func gatewayAnswer(tc hostileCase) hostileCase {
	tc.gateway = true
	return tc
}

// forgeToken keeps a JWT's header and signature and claims another subject.
func forgeToken(tok string) string {
	parts := strings.Split(tok, ".")
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	claims = bytes.Replace(claims, []byte(`"sub":"`+DevUser+`"`), []byte(`"sub":"mallory"`), 1)
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(claims) + "." + parts[2]
}

// leakMarks are what an answer must never contain: Go error and panic text, stack
// traces, file paths, AWS and SDK names, the attack's own payload echoed back.
var leakMarks = []string{
	"goroutine", "panic", ".go:", "runtime.", "/work/", "/tmp/", "/home/", "/usr/", "/etc/passwd",
	"github.com/", "aws", "sdk", "dynamo", "sqs", "smithy", "operation error", "exception", "arn:",
	"lambda", "strconv", "json:", "invalid character", "unexpected eof", "x-amz", "repotrackr-",
	"sha256=", "bearer ",
}

// checkErrorBody checks that an answer is a JSON error of the documented shape that
// leaks nothing.
func checkErrorBody(t *testing.T, tc hostileCase, ctype, body string, secrets []string) {
	t.Helper()
	if !strings.HasPrefix(ctype, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", tc.name, ctype)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(body), &obj); err != nil {
		t.Errorf("%s: answer %.200q is not JSON: %v", tc.name, body, err)
	}
	key := "error"
	if tc.gateway {
		key = "message"
	}
	if s, ok := obj[key].(string); len(obj) != 1 || !ok || s == "" {
		t.Errorf("%s: answer = %.200s, want {%q: reason}", tc.name, body, key)
	}
	lower := strings.ToLower(body)
	for _, m := range leakMarks {
		if strings.Contains(lower, m) {
			t.Errorf("%s: answer %.300q contains %q", tc.name, body, m)
		}
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("%s: answer contains a secret or token", tc.name)
		}
	}
}

// send makes one request and returns the answer's status, content type and body.
func send(t *testing.T, ctx context.Context, base string, tc hostileCase) (int, string, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, tc.method, base+tc.path, bytes.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range tc.headers {
		req.Header.Set(k, v)
	}
	if tc.token != "" {
		req.Header.Set("Authorization", "Bearer "+tc.token)
	}
	resp, err := (&http.Client{Timeout: 40 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", tc.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// installQuery starts the installation flow with token and follows the sandbox's
// installation page to the relay page: the query the front end relays to the callback.
func installQuery(t *testing.T, ctx context.Context, s *Stack, token string) url.Values {
	t.Helper()
	var start struct {
		URL string `json:"url"`
	}
	if err := (&Client{BaseURL: s.Info.GatewayURL, Token: token}).Do(ctx, http.MethodGet, "/auth/github/install/start", nil, &start); err != nil {
		t.Fatalf("install start: %v", err)
	}
	browser := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loc, err := redirectOf(ctx, browser, start.URL)
	if err != nil {
		t.Fatalf("installation page: %v", err)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("state") == "" || q.Get("code") == "" || q.Get("installation_id") == "" {
		t.Fatalf("installation page redirected to %s, want a state, a code and an installation id", loc)
	}
	return q
}

// forgeState keeps a state's id and expiry and replaces its signature.
func forgeState(state string) string {
	i := strings.LastIndexByte(state, '.')
	return state[:i+1] + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, sha256.Size))
}

// signState signs a state as the API does (pkg/api state.go), so that an expired state
// carries a genuine signature.
func signState(key, purpose, id string, exp time.Time) string {
	m := hmac.New(sha256.New, []byte(key))
	fmt.Fprintf(m, "repotrackr-state/v1\x00%s\x00%s\x00%d", purpose, id, exp.Unix())
	return id + "." + strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// storedTables are the tables an attack must not change (states come and go with the
// fixtures' installation flows).
var storedTables = []string{"EventsTable", "EventStatsTable", "ProjectsTable", "SnapshotsTable", "UpdatesTable", "InstallationsTable", "UserInstallationsTable"}

func storedCounts(t *testing.T, ctx context.Context, s *Stack) map[string]int {
	t.Helper()
	db := dynamo.NewFromIface(s.DynamoDB)
	out := map[string]int{}
	for _, id := range storedTables {
		n, err := db.Table(s.Info.Resources.Tables[id]).Scan().Count(ctx)
		if err != nil {
			t.Fatalf("count %s: %v", id, err)
		}
		out[id] = int(n)
	}
	return out
}

// quiet waits until the events queue is empty and the stored counts hold still, so that
// the fixtures' own work is done before the baseline.
func quiet(t *testing.T, ctx context.Context, s *Stack) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	prev := storedCounts(t, ctx, s)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		n, err := s.QueueDepth(ctx, "EventsQueue")
		cur := storedCounts(t, ctx, s)
		if err == nil && n == 0 && fmt.Sprint(cur) == fmt.Sprint(prev) {
			return
		}
		prev = cur
	}
	t.Fatal("the stack did not settle within 30s")
}
