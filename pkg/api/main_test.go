package api

// One dynalite serves every test of the package; each env gets its own set of tables
// (a unique prefix), a GitHub sandbox, the real ghapp client and the real processor.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/appmanifest"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/history"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/processor"
	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }

// The sandbox's GitHub users and the test's RepoTrackr users (JWT subjects).
const (
	aliceGH = "alice-gh"
	bobGH   = "bob-gh"
	alice   = "auth0|alice"
	bob     = "auth0|bob"
	// Installation 1 is alice-gh's (alice-gh/alpha), installation 2 org-b's (org-b/beta),
	// which only bob-gh can access.
	alphaRepo = "alice-gh/alpha"
	betaRepo  = "org-b/beta"
)

const testPlan = `# Plan

## Build
- [x] ingest
- [ ] processor

## Ship
- [x] docs
`

func newFakeSecrets() *testkit.Secrets {
	placeholder := `{"pending":"register the App"}`
	return testkit.NewSecrets(map[string]string{
		"arn:key": placeholder, "arn:webhook": "generated-at-deploy", "arn:client": placeholder, "arn:registration": placeholder,
	})
}

// testRegistrationToken is the deployment's one-time App registration token.
const testRegistrationToken = "registration-token-0123456789abcdef-0123456789"

var testSecretTargets = appmanifest.Secrets{
	PrivateKeyARN: "arn:key", WebhookSecretARN: "arn:webhook", ClientSecretARN: "arn:client", RegistrationARN: "arn:registration",
}

// env is one API under test with everything it talks to.
type env struct {
	t       *testing.T
	api     *API
	store   *store.Store
	sb      *ghsandbox.Sandbox
	sbURL   string
	gh      *ghapp.Client
	clock   *testkit.Clock
	logs    *testkit.LogBuffer
	secrets *testkit.Secrets
	cfg     Config
}

type envOption func(*Config)

// newEnv starts a sandbox with installations 1 and 2 and repositories alpha and beta,
// creates the tables and builds the API over the real ghapp client and processor.
func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ddb := standin.DynamoDB(t)
	env := &env{t: t, clock: testkit.NewClock(time.Now().UTC()), logs: &testkit.LogBuffer{}, secrets: newFakeSecrets()}
	env.sb, env.sbURL = ghsandbox.NewServer(t, ghsandbox.Options{SandboxUser: aliceGH, StrictOAuthCodes: true})
	for _, in := range []ghsandbox.Installation{
		{ID: 1, Account: aliceGH, Repos: []string{alphaRepo}, Users: []string{aliceGH}},
		{ID: 2, Account: "org-b", AccountType: "Organization", Repos: []string{betaRepo}, Users: []string{bobGH}},
	} {
		if err := env.sb.AddInstallation(in); err != nil {
			t.Fatalf("AddInstallation(%d) error = %v", in.ID, err)
		}
	}
	for _, r := range []string{alphaRepo, betaRepo} {
		o, n, _ := strings.Cut(r, "/")
		if err := env.sb.WriteFile(o, n, "docs/plan.md", []byte(testPlan)); err != nil {
			t.Fatalf("WriteFile(%s) error = %v", r, err)
		}
		if err := env.sb.WriteFile(o, n, "go.mod", []byte("module example.com/"+n+"\n\ngo 1.26\n\nrequire github.com/google/go-github/v60 v60.0.0\n")); err != nil {
			t.Fatalf("WriteFile(%s go.mod) error = %v", r, err)
		}
	}
	env.sb.SetSetupURL("https://api.example.test" + pathInstall)

	env.store = store.New(ddb, store.TablesFrom(standin.NewTables(t)))
	log := env.logs.Logger()
	var err error
	env.gh, err = ghapp.New(ghapp.Config{
		AppID: env.sb.AppID(), PrivateKey: env.sb.PrivateKeyPEM(),
		APIURL: env.sbURL, WebURL: env.sbURL,
		ClientID: env.sb.ClientID(), ClientSecret: env.sb.ClientSecret(),
		Log: log, MaxAttempts: 1,
	})
	if err != nil {
		t.Fatalf("ghapp.New error = %v", err)
	}
	conv, err := appmanifest.NewConverter(env.sbURL, nil)
	if err != nil {
		t.Fatalf("NewConverter error = %v", err)
	}
	env.cfg = Config{
		Store:     env.store,
		GitHub:    env.gh,
		Syncer:    processor.New(env.store, env.gh, processor.Config{Log: log}),
		StateKeys: [][]byte{[]byte("test-state-key-0123456789abcdef-0123456789")},
		WebURL:    env.sbURL,
		AppSlug:   env.sb.AppSlug(),
		// The front end's page that relays GitHub's redirect to the callback.
		InstallSetupURL: "https://app.example.test/github/installed",
		Converter:       conv,
		Secrets:         env.secrets,
		SecretTargets:   testSecretTargets,
		History:         history.New(env.store, history.Config{Log: log}).Serve,
		Log:             log,
		Now:             env.clock.Now,
	}
	env.cfg.RegistrationToken = testRegistrationToken
	for _, o := range opts {
		o(&env.cfg)
	}
	env.api, err = New(env.cfg)
	if err != nil {
		t.Fatalf("New error = %v", err)
	}
	return env
}

// call describes one request.
type call struct {
	method, path string
	user         string // JWT sub; empty: no authorizer claims
	query        url.Values
	body         string
	headers      map[string]string
	cookies      []string // request cookies ("name=value")
}

// answer is a response, with the JSON body decoded when there is one.
type answer struct {
	status  int
	headers map[string]string
	body    string
	json    map[string]any
	cookies []string // Set-Cookie values
}

func (a answer) str(key string) string {
	s, _ := a.json[key].(string)
	return s
}

// reqSeq numbers the requests and OAuth codes of the tests.
var reqSeq atomic.Int64

func (e *env) do(c call) answer {
	e.t.Helper()
	return doRequest(e.t, e.api, buildRequest(c))
}

func buildRequest(c call) events.APIGatewayV2HTTPRequest {
	req := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       c.method + " " + c.path,
		RawPath:        c.path,
		RawQueryString: c.query.Encode(),
		Headers:        map[string]string{},
		Body:           c.body,
		Cookies:        c.cookies,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "api.example.test",
			RequestID:  fmt.Sprintf("req-%d", reqSeq.Add(1)),
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: c.method, Path: c.path},
		},
	}
	for k, v := range c.headers {
		req.Headers[strings.ToLower(k)] = v
	}
	if c.user != "" {
		req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: map[string]string{"sub": c.user}},
		}
	}
	return req
}

func doRequest(t *testing.T, a *API, req events.APIGatewayV2HTTPRequest) answer {
	t.Helper()
	resp, err := a.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle(%s %s) error = %v, want nil (errors are answers)", req.RequestContext.HTTP.Method, req.RawPath, err)
	}
	out := answer{status: resp.StatusCode, headers: resp.Headers, body: resp.Body, cookies: resp.Cookies}
	if strings.HasPrefix(resp.Headers["Content-Type"], "application/json") {
		if err := json.Unmarshal([]byte(resp.Body), &out.json); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", req.RequestContext.HTTP.Method, req.RawPath, resp.Body, err)
		}
	}
	return out
}

// startInstall asks for the installation URL as user and returns it and its state.
func (e *env) startInstall(user string) (string, string) {
	e.t.Helper()
	a := e.do(call{method: http.MethodGet, path: pathInstallStart, user: user})
	if a.status != http.StatusOK {
		e.t.Fatalf("GET %s = %d %s, want 200", pathInstallStart, a.status, a.body)
	}
	u, err := url.Parse(a.str("url"))
	if err != nil {
		e.t.Fatalf("install URL %q: %v", a.str("url"), err)
	}
	return u.String(), u.Query().Get("state")
}

// callback calls the install callback with GitHub's redirect query, as the front end
// relays it for the signed-in user.
func (e *env) callback(user string, q url.Values, headers map[string]string) answer {
	e.t.Helper()
	return e.do(call{method: http.MethodGet, path: pathInstall, user: user, query: q, headers: headers})
}

// install links user (GitHub login ghLogin) to an installation through the whole flow.
func (e *env) install(user, ghLogin string, installationID int64) {
	e.t.Helper()
	_, state := e.startInstall(user)
	code := fmt.Sprintf("code-%s-%d", ghLogin, reqSeq.Add(1))
	e.sb.AddOAuthCode(code, ghLogin)
	a := e.callback(user, url.Values{"installation_id": {fmt.Sprint(installationID)}, "setup_action": {"install"}, "state": {state}, "code": {code}}, nil)
	if a.status != http.StatusOK {
		e.t.Fatalf("install(%s, %d) = %d %s, want 200", user, installationID, a.status, a.body)
	}
}

// createProject registers repo for user and returns the answer.
func (e *env) createProject(user string, body any) answer {
	e.t.Helper()
	b, _ := json.Marshal(body)
	return e.do(call{method: http.MethodPost, path: pathProjects, user: user, body: string(b), headers: map[string]string{"Content-Type": "application/json"}})
}

// noRedirect shows redirects instead of following them.
var noRedirect = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}

// ghsandboxAll is installation 1 covering every repository of account.
func ghsandboxAll(account string) ghsandbox.Installation {
	return ghsandbox.Installation{ID: 1, Account: account, AllRepositories: true, Users: []string{account}}
}
