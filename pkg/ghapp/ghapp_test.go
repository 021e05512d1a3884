package ghapp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	smithytime "github.com/aws/smithy-go/time"

	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/metrics"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestNewValidatesConfig(t *testing.T) {
	key := testKeyPEM(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no app id", Config{PrivateKey: key}},
		{"no key", Config{AppID: 1}},
		{"junk key", Config{AppID: 1, PrivateKey: []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n")}},
		{"relative API URL", Config{AppID: 1, PrivateKey: key, APIURL: "api.github.com"}},
		{"bad web URL scheme", Config{AppID: 1, PrivateKey: key, WebURL: "ftp://github.com/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatalf("New(%s) = nil error, want one", tt.name)
			}
		})
	}
	c, err := New(Config{AppID: 1, PrivateKey: key})
	if err != nil {
		t.Fatalf("New with defaults: %v", err)
	}
	if c.apiBase.String() != DefaultAPIURL || c.webBase.String() != DefaultWebURL {
		t.Errorf("defaults = %s, %s; want %s, %s", c.apiBase, c.webBase, DefaultAPIURL, DefaultWebURL)
	}
	ghes, err := New(Config{AppID: 1, PrivateKey: key, APIURL: "https://ghe.example.com/api/v3"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ghes.restClient(http.DefaultTransport).BaseURL.String(); got != "https://ghe.example.com/api/v3/" {
		t.Errorf("GHES base URL = %s, want https://ghe.example.com/api/v3/", got)
	}
}

func TestAppJWTRefused(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	otherPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)})
	tests := []struct {
		name string
		mod  func(*Config)
	}{
		{"wrong key", func(c *Config) { c.PrivateKey = otherPEM }},
		{"wrong app id", func(c *Config) { c.AppID++ }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.client(t, tt.mod)
			if _, err := c.Installation(context.Background(), 1); !errors.Is(err, ErrUnauthorized) {
				t.Errorf("Installation with %s = %v, want ErrUnauthorized", tt.name, err)
			}
			_, err := c.FileContent(context.Background(), 1, "o", "r", "f", "", 0)
			if !errors.Is(err, ErrUnauthorized) || IsRetryable(err) {
				t.Errorf("FileContent with %s = %v, want ErrUnauthorized, not retryable", tt.name, err)
			}
		})
	}
	if n := e.sb.TokensMinted(1); n != 0 {
		t.Errorf("TokensMinted(1) = %d, want 0", n)
	}
}

func TestInstallationTokenReused(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "alice", "proj", "docs/plan.md", "- [ ] one\n")
	ctx := context.Background()
	for range 2 {
		if _, err := e.c.FileContent(ctx, 1, "alice", "proj", "docs/plan.md", "", 0); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, _, err := e.c.HeadCommit(ctx, 1, "alice", "proj", "main"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := e.sb.TokensMinted(1); n != 1 {
		t.Errorf("TokensMinted(1) after 10 calls = %d, want 1", n)
	}
	tok, err := e.c.InstallationToken(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if id, ok := e.sb.ValidInstallationToken(tok); !ok || id != 1 || len(tok) < 80 {
		t.Errorf("InstallationToken = %d chars valid=%v for %d; want a live token of installation 1", len(tok), ok, id)
	}
	if n := e.sb.TokensMinted(1); n != 1 {
		t.Errorf("TokensMinted(1) after InstallationToken = %d, want 1", n)
	}
	// Installations have separate tokens.
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 2, Account: "alice", Repos: []string{"alice/proj"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.FileContent(ctx, 2, "alice", "proj", "docs/plan.md", "", 0); err != nil {
		t.Fatal(err)
	}
	if n := e.sb.TokensMinted(2); n != 1 {
		t.Errorf("TokensMinted(2) = %d, want 1", n)
	}
}

func TestInstallationTokenRefreshedBeforeExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a token to near expiry")
	}
	// ghinstallation renews a token one minute before it expires: with a 63s lifetime the
	// renewal falls 2-3s after minting.
	e := newEnv(t, ghsandbox.Options{TokenTTL: 63 * time.Second})
	e.write(t, "o", "r", "f", "x")
	ctx := context.Background()
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatal(err)
	}
	first, _ := e.c.InstallationToken(ctx, 1)
	expiresAt, refreshAt, err := e.c.installation(1).tr.Expiry()
	if err != nil {
		t.Fatal(err)
	}
	if d := expiresAt.Sub(refreshAt); d != time.Minute {
		t.Errorf("refresh %v before expiry, want 1m", d)
	}
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatal(err)
	}
	// On a loaded machine the second call may already fall in the refresh window.
	if time.Now().Before(refreshAt) {
		if n := e.sb.TokensMinted(1); n != 1 {
			t.Fatalf("TokensMinted(1) before the refresh window = %d, want 1", n)
		}
	}
	time.Sleep(time.Until(refreshAt) + 100*time.Millisecond)
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatal(err)
	}
	if n := e.sb.TokensMinted(1); n != 2 {
		t.Fatalf("TokensMinted(1) inside the refresh window = %d, want 2", n)
	}
	second, _ := e.c.InstallationToken(ctx, 1)
	if second == first {
		t.Error("token after refresh is the old one")
	}
	if id, ok := e.sb.ValidInstallationToken(first); !ok || id != 1 {
		t.Error("old token no longer valid; the refresh should happen before expiry")
	}
}

func TestRevokedTokenReplaced(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "f", "x")
	ctx := context.Background()
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatal(err)
	}
	e.sb.RevokeTokens(1)
	if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
		t.Fatalf("FileContent after revocation = %v, want a fresh token to be used", err)
	}
	if n := e.sb.TokensMinted(1); n != 2 {
		t.Errorf("TokensMinted(1) = %d, want 2", n)
	}
}

func TestSuspendedOrRemovedInstallation(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "f", "x")
	if err := e.sb.AddInstallation(ghsandbox.Installation{ID: 3, Account: "o", Repos: []string{"o/r"}, Suspended: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err := e.c.FileContent(ctx, 3, "o", "r", "f", "", 0)
	if !errors.Is(err, ErrNoAccess) || errors.Is(err, ErrNotFound) {
		t.Errorf("FileContent via suspended installation = %v, want ErrNoAccess and not ErrNotFound", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || !ae.Mint || ae.Status != 403 {
		t.Errorf("error = %#v, want a 403 APIError while minting", ae)
	}
	_, err = e.c.FileContent(ctx, 42, "o", "r", "f", "", 0)
	if !errors.Is(err, ErrNoAccess) {
		t.Errorf("FileContent via missing installation = %v, want ErrNoAccess", err)
	}
}

func TestRetryOn5xx(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "f", "content")
	ctx := context.Background()

	t.Run("502 then success", func(t *testing.T) {
		e.sb.FailNext("GET", "/repos/o/r/contents/f", 1, 502)
		got, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
		if err != nil || string(got) != "content" {
			t.Fatalf("FileContent = %q, %v; want content after one retry", got, err)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/contents/f"); n != 2 {
			t.Errorf("contents calls = %d, want 2", n)
		}
		if w := e.sleeps.list(); len(w) != 1 || w[0] < baseBackoff {
			t.Errorf("waits = %v, want one of at least %v", w, baseBackoff)
		}
	})
	t.Run("502 on mint", func(t *testing.T) {
		e.sb.FailNext("POST", "/app/installations/*/access_tokens", 1, 502)
		c := e.client(t)
		if _, err := c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
			t.Fatalf("FileContent with a failed mint = %v, want success after retry", err)
		}
	})
	t.Run("persistent 503", func(t *testing.T) {
		e.sb.ResetCalls()
		e.sb.FailNext("GET", "/repos/o/r/contents/f", DefaultMaxAttempts, 503)
		_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
		if !IsRetryable(err) || StatusCode(err) != 503 {
			t.Fatalf("FileContent = %v, want retryable 503", err)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/contents/f"); n != DefaultMaxAttempts {
			t.Errorf("attempts = %d, want %d", n, DefaultMaxAttempts)
		}
	})
	t.Run("404 is not retried", func(t *testing.T) {
		e.sb.ResetCalls()
		_, err := e.c.FileContent(ctx, 1, "o", "r", "missing", "", 0)
		if !errors.Is(err, ErrNotFound) || IsRetryable(err) {
			t.Fatalf("FileContent(missing) = %v, want ErrNotFound, not retryable", err)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/contents/missing"); n != 1 {
			t.Errorf("calls = %d, want 1", n)
		}
	})
}

func TestRateLimits(t *testing.T) {
	ctx := context.Background()
	t.Run("primary limit far away is surfaced, not waited for", func(t *testing.T) {
		e := newEnv(t, ghsandbox.Options{})
		e.write(t, "o", "r", "f", "x")
		if _, err := e.c.Repository(ctx, 1, "o", "r"); err != nil {
			t.Fatal(err)
		}
		e.sb.ResetCalls()
		e.sb.RateLimitNext("GET", "/repos/o/r/contents/**", 1, 403, time.Now().Add(time.Hour))
		_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
		var ae *APIError
		if !IsRetryable(err) || !errors.As(err, &ae) || ae.Status != 403 || ae.RetryAfter < 50*time.Minute {
			t.Fatalf("FileContent = %v (%+v), want retryable 403 with RetryAfter about an hour", err, ae)
		}
		if len(e.sleeps.list()) != 0 {
			t.Errorf("waited %v, want no wait beyond MaxRetryWait", e.sleeps.list())
		}
		// The installation is locked out until the reset: refused without a call.
		_, err = e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
		var rl *RateLimitError
		if !IsRetryable(err) || !errors.As(err, &rl) || !rl.Local {
			t.Errorf("second FileContent = %v, want retryable, refused locally", err)
		}
		if n := e.sb.CountCalls("GET", "/repos/o/r/contents/**"); n != 1 {
			t.Errorf("contents calls = %d, want 1", n)
		}
	})
	t.Run("secondary limit within the cap is waited for", func(t *testing.T) {
		e := newEnv(t, ghsandbox.Options{})
		e.sleeps.real = true
		e.write(t, "o", "r", "f", "x")
		e.sb.SecondaryRateLimitNext("GET", "/repos/o/r/contents/f", 1, 403, time.Second)
		if _, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0); err != nil {
			t.Fatalf("FileContent = %v, want success after waiting", err)
		}
		if w := e.sleeps.list(); len(w) != 1 || w[0] < time.Second {
			t.Errorf("waits = %v, want one of at least 1s", w)
		}
	})
	t.Run("429 with Retry-After", func(t *testing.T) {
		e := newEnv(t, ghsandbox.Options{})
		e.write(t, "o", "r", "f", "x")
		h := http.Header{}
		h.Set("Retry-After", "2")
		e.sb.InjectFault(ghsandbox.Fault{Method: "GET", Path: "/repos/o/r", Status: 429, Header: h})
		if _, err := e.c.Repository(ctx, 1, "o", "r"); err != nil {
			t.Fatalf("Repository = %v, want success after retry", err)
		}
		if w := e.sleeps.list(); len(w) != 1 || w[0] < 2*time.Second {
			t.Errorf("waits = %v, want one of at least 2s", w)
		}
	})
	t.Run("429 over the cap", func(t *testing.T) {
		e := newEnv(t, ghsandbox.Options{}, func(c *Config) { c.MaxRetryWait = time.Second })
		e.write(t, "o", "r", "f", "x")
		e.sb.SecondaryRateLimitNext("GET", "/repos/o/r", 1, 429, 60*time.Second)
		_, err := e.c.Repository(ctx, 1, "o", "r")
		var ae *APIError
		if !errors.As(err, &ae) || !ae.Retryable || ae.Status != 429 || ae.RetryAfter != time.Minute {
			t.Fatalf("Repository = %v, want retryable 429 asking for 1m", err)
		}
	})
}

func TestContextCancelled(t *testing.T) {
	e := newEnv(t, ghsandbox.Options{})
	e.write(t, "o", "r", "f", "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.c.FileContent(ctx, 1, "o", "r", "f", "", 0)
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Errorf("FileContent with cancelled context = %v, want context.Canceled, not retryable", err)
	}
	// Cancelled while waiting to retry.
	ctx, cancel = context.WithCancel(context.Background())
	e.sb.FailNext("GET", "/repos/o/r", 1, 502)
	e.c.sleep = func(ctx context.Context, d time.Duration) error { cancel(); return smithytime.SleepWithContext(ctx, d) }
	_, err = e.c.Repository(ctx, 1, "o", "r")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Repository cancelled during backoff = %v, want context.Canceled", err)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	var api apiCalls
	e := newEnv(t, ghsandbox.Options{}, api.option())
	e.write(t, "alice", "proj", "docs/plan.md", "plan")
	ctx := WithAuditUser(context.Background(), "user-123")
	// A mix of successes and failures, including failing mints and exchanges.
	if _, err := e.c.ValidateRepositoryAccess(ctx, "https://github.com/alice/proj", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ValidateRepositoryAccess(ctx, "alice/missing", 1); !errors.Is(err, ErrNoAccess) {
		t.Fatal(err)
	}
	if _, err := e.c.FileContent(ctx, 1, "alice", "proj", "docs/plan.md", "", 0); err != nil {
		t.Fatal(err)
	}
	e.sb.FailNext("POST", "/app/installations/*/access_tokens", 1, 500)
	e.c.ForgetInstallation(1)
	if _, err := e.c.InstallationRepositories(ctx, 1); err != nil {
		t.Fatal(err)
	}
	instTok, err := e.c.InstallationToken(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	e.sb.AddOAuthCode("code-secret-123", "sandbox-user")
	userTok, err := e.c.ExchangeCode(ctx, "code-secret-123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.ExchangeCode(ctx, "code-secret-123"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("replayed code = %v, want ErrBadCode", err)
	}
	if _, err := e.c.UserInstallations(ctx, userTok.AccessToken); err != nil {
		t.Fatal(err)
	}
	// The App's credentials as the manifest conversion (pkg/appmanifest) returns them.
	creds := AppCredentials{ID: e.sb.AppID(), PEM: e.sb.PrivateKeyPEM(), ClientID: e.sb.ClientID(), ClientSecret: e.sb.ClientSecret(), WebhookSecret: e.sb.WebhookSecret()}
	e.c.log.Info("values", "user_token", userTok, "creds", creds)

	out := e.logs.String()
	keyLine := strings.Split(string(e.sb.PrivateKeyPEM()), "\n")[1]
	for name, secret := range map[string]string{
		"installation token": instTok, "user token": userTok.AccessToken, "refresh token": userTok.RefreshToken,
		"oauth code": "code-secret-123", "client secret": e.sb.ClientSecret(),
		"webhook secret": creds.WebhookSecret, "private key": keyLine,
	} {
		if secret == "" {
			t.Fatalf("%s is empty: the test proves nothing", name)
		}
		if strings.Contains(out, secret) {
			t.Errorf("logs contain the %s", name)
		}
	}
	// Audit lines: one per interaction, with the expected fields.
	actions := map[string][]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if m["audit"] == true {
			actions[m["action"].(string)] = append(actions[m["action"].(string)], m)
		}
	}
	want := map[string]int{
		"repository_access_validated": 2, "token_minted": 3, "installation_repositories_listed": 1,
		"oauth_code_exchanged": 2, "user_installations_listed": 1,
	}
	for action, n := range want {
		if len(actions[action]) != n {
			t.Errorf("%d audit lines for %s, want %d", len(actions[action]), action, n)
		}
	}
	refused := actions["repository_access_validated"][1]
	if refused["outcome"] != "refused" || refused["reason"] != "no_access" || refused["repo"] != "alice/missing" ||
		refused["installation_id"] != float64(1) || refused["user"] != "user-123" {
		t.Errorf("refusal audit line = %v, want outcome refused, reason no_access, repo, installation_id, user", refused)
	}
	mints := actions["token_minted"]
	if len(mints) == 3 && (mints[0]["outcome"] != "ok" || mints[1]["outcome"] != "failed" || mints[1]["status"] != float64(500) || mints[2]["outcome"] != "ok") {
		t.Errorf("mint audit lines = %v, want ok, failed (500), ok", mints)
	}
	if ex := actions["oauth_code_exchanged"]; ex[0]["outcome"] != "ok" || ex[1]["reason"] != "bad_code" {
		t.Errorf("exchange audit lines = %v, want ok then bad_code", ex)
	}

	if calls := api.counts(); calls[opMint] != 3 || calls[opOAuth] != 2 || calls[opContents] != 1 || calls[opRepo] != 2 {
		t.Errorf("OnAPICall counts = %v, want 3 mints, 2 exchanges, 1 contents, 2 repos", calls)
	}
}

func TestEndpointName(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"POST", "/app/installations/12/access_tokens", opMint},
		{"GET", "/app/installations/12", opInstallation},
		{"GET", "/repos/o/r/contents/docs/plan.md", opContents},
		{"GET", "/repos/o/r/commits/heads/main", opCommit},
		{"GET", "/repos/o/r/git/trees/heads/main", opTree},
		{"GET", "/repos/o/r", opRepo},
		{"DELETE", "/repos/o/r", "DELETE other"},
	}
	for _, tt := range tests {
		if got := endpointName(tt.method, tt.path); got != tt.want {
			t.Errorf("endpointName(%s, %s) = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func TestRedactedValues(t *testing.T) {
	tok := UserToken{AccessToken: "ghu_S3KRIT", RefreshToken: "ghr_S3KRIT"}
	creds := AppCredentials{ID: 1, PEM: []byte("pem-S3KRIT"), ClientSecret: "cs-S3KRIT", WebhookSecret: "wh-S3KRIT"}
	for _, s := range []string{tok.String(), creds.String(), tok.LogValue().String(), creds.LogValue().String(), fmt.Sprint(tok), fmt.Sprintf("%v", creds)} {
		if strings.Contains(s, "S3KRIT") {
			t.Errorf("rendering %q holds a secret", s)
		}
	}
}

func TestMetricsEmitted(t *testing.T) {
	buf := &testkit.LogBuffer{}
	e := newEnv(t, ghsandbox.Options{}, func(c *Config) { c.Metrics = metrics.New(buf, "") })
	e.write(t, "o", "r", "f", "x")
	e.sb.FailNext("GET", "/repos/o/r/contents/f", 1, 502)
	if _, err := e.c.FileContent(context.Background(), 1, "o", "r", "f", "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.FileContent(context.Background(), 1, "o", "r", "missing", "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatal(err)
	}
	calls, failures := map[string]int{}, map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("EMF line %q: %v", line, err)
		}
		ep, _ := m[metrics.DimEndpoint].(string)
		if v, ok := m[metrics.GitHubAPICalls].(float64); ok {
			calls[ep] += int(v)
		}
		if v, ok := m[metrics.GitHubAPIErrors].(float64); ok {
			failures[ep] += int(v)
		}
	}
	if calls[opMint] != 1 || calls[opContents] != 3 || failures[opContents] != 1 || failures[opMint] != 0 {
		t.Errorf("calls = %v, failures = %v; want 1 mint, 3 contents calls of which 1 failed (the 404 is no failure)", calls, failures)
	}
}
