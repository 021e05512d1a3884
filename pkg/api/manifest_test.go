package api

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/appmanifest"
)

var (
	formAction    = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	manifestInput = regexp.MustCompile(`<input type="hidden" name="manifest" value="([^"]+)">`)
)

// registerThroughSandbox loads the register page, posts its form to the sandbox as the
// browser would, and returns the query GitHub sends back to the redirect_url.
func registerThroughSandbox(t *testing.T, e *env, query url.Values) url.Values {
	t.Helper()
	page := e.do(call{method: http.MethodGet, path: pathAppRegister, query: query, headers: map[string]string{"Accept": "text/html"}})
	if page.status != http.StatusOK || !strings.HasPrefix(page.headers["Content-Type"], "text/html") {
		t.Fatalf("GET %s = %d %s, want the HTML page", pathAppRegister, page.status, page.body)
	}
	if csp := page.headers["Content-Security-Policy"]; !strings.Contains(csp, "form-action "+e.sbURL) {
		t.Errorf("Content-Security-Policy = %q, want forms limited to GitHub", csp)
	}
	act, man := formAction.FindStringSubmatch(page.body), manifestInput.FindStringSubmatch(page.body)
	if act == nil || man == nil {
		t.Fatalf("register page lacks the form: %s", page.body)
	}
	action := html.UnescapeString(act[1])
	resp, err := noRedirect.PostForm(action, url.Values{"manifest": {html.UnescapeString(man[1])}})
	if err != nil {
		t.Fatalf("POST manifest to %s: %v", action, err)
	}
	defer resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("POST manifest = %d %s, want 302 to the redirect_url", resp.StatusCode, readAll(t, resp.Body))
	}
	if loc.Path != pathAppRegistered || loc.Host != "api.example.test" {
		t.Fatalf("redirect = %s, want this API's %s", loc, pathAppRegistered)
	}
	return loc.Query()
}

func TestManifestFlowStoresCredentials(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AppName = "RepoTrackr (test)" })
	back := registerThroughSandbox(t, e, nil)

	m, ok := e.sb.LastManifest()
	if !ok {
		t.Fatal("the sandbox received no manifest")
	}
	if m.Name != "RepoTrackr (test)" || m.HookAttributes.URL != "https://api.example.test/webhooks/github" ||
		m.SetupURL != e.cfg.InstallSetupURL || strings.Join(m.CallbackURLs, ",") != e.cfg.InstallSetupURL || m.RedirectURL != "https://api.example.test/github/app/registered" ||
		m.Public || strings.Join(m.DefaultEvents, ",") != "push,pull_request,issues" {
		t.Errorf("posted manifest = %+v, want this deployment's URLs, GitHub's post-installation redirect to the front end, private, push/pull_request/issues", m)
	}

	a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back})
	if a.status != http.StatusOK || a.str("status") != "registered" || a.json["app_id"] != float64(e.sb.AppID()) ||
		a.str("slug") != e.sb.AppSlug() || a.str("client_id") != e.sb.ClientID() || !strings.HasSuffix(a.str("install_url"), "/installations/new") {
		t.Fatalf("GET %s = %d %s, want the registered App", pathAppRegistered, a.status, a.body)
	}
	for _, secret := range []string{e.sb.ClientSecret(), e.sb.WebhookSecret(), string(e.sb.PrivateKeyPEM())} {
		if strings.Contains(a.body, secret) {
			t.Errorf("answer %s holds a secret", a.body)
		}
	}
	if got := e.secrets.get("arn:key"); got != string(e.sb.PrivateKeyPEM()) {
		t.Errorf("private key secret = %.40q, want the App's PEM", got)
	}
	if got := e.secrets.get("arn:webhook"); got != e.sb.WebhookSecret() {
		t.Errorf("webhook secret = %q, want the App's", got)
	}
	if got := e.secrets.get("arn:client"); got != e.sb.ClientSecret() {
		t.Errorf("client secret = %q, want the App's", got)
	}
	var reg appmanifest.Registration
	if err := json.Unmarshal([]byte(e.secrets.get("arn:registration")), &reg); err != nil || reg.AppID != e.sb.AppID() ||
		reg.Slug != e.sb.AppSlug() || reg.ClientID != e.sb.ClientID() {
		t.Errorf("registration secret = %s, want app id, slug and client id", e.secrets.get("arn:registration"))
	}

	// Registration is closed now, and the used state cannot come back.
	if again := e.do(call{method: http.MethodGet, path: pathAppRegister}); again.status != http.StatusConflict {
		t.Errorf("GET %s after registration = %d %s, want 409", pathAppRegister, again.status, again.body)
	}
	if replay := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back}); replay.status != http.StatusBadRequest || replay.str("error") != "state already used; start again" {
		t.Errorf("replayed registration = %d %s, want 400 state already used", replay.status, replay.body)
	}
}

func TestManifestFlowRefusals(t *testing.T) {
	t.Run("org page", func(t *testing.T) {
		e := newEnv(t)
		a := e.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"org": {"org-b"}}})
		if m := formAction.FindStringSubmatch(a.body); a.status != http.StatusOK || m == nil ||
			!strings.HasPrefix(html.UnescapeString(m[1]), e.sbURL+"/organizations/org-b/settings/apps/new?state=") {
			t.Errorf("GET %s?org=org-b = %d, form %v, want the organization's new-App page", pathAppRegister, a.status, m)
		}
		if bad := e.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"org": {"../x"}}}); bad.status != http.StatusBadRequest {
			t.Errorf("GET %s?org=../x = %d, want 400", pathAppRegister, bad.status)
		}
	})
	t.Run("App configured at start", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AppConfigured = true })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister}); a.status != http.StatusConflict {
			t.Errorf("GET %s = %d %s, want 409", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("key already in the secret", func(t *testing.T) {
		e := newEnv(t)
		e.secrets.values["arn:key"] = string(e.sb.PrivateKeyPEM())
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister}); a.status != http.StatusConflict {
			t.Errorf("GET %s = %d %s, want 409", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("secrets unreadable: fail closed", func(t *testing.T) {
		e := newEnv(t)
		back := registerThroughSandbox(t, e, nil)
		e.secrets.failGet = true
		a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back})
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("GET %s = %d %s, want 503", pathAppRegistered, a.status, a.body)
		}
		e.secrets.failGet = false
		if got := e.secrets.get("arn:key"); appmanifest.IsPEM(got) {
			t.Errorf("private key secret written despite the refusal")
		}
	})
	t.Run("no front end installation page", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.InstallSetupURL = "" })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister}); a.status != http.StatusServiceUnavailable || !strings.Contains(a.str("error"), "InstallSetupUrl") {
			t.Errorf("GET %s = %d %s, want 503 naming InstallSetupUrl", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("no secrets configured", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.SecretTargets = appmanifest.Secrets{} })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister}); a.status != http.StatusServiceUnavailable {
			t.Errorf("GET %s = %d %s, want 503", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("forged state and bad code", func(t *testing.T) {
		e := newEnv(t)
		back := registerThroughSandbox(t, e, nil)
		forged := url.Values{"code": {back.Get("code")}, "state": {"00000000000000000000000000000000.9999999999.AAAA"}}
		if a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: forged}); a.status != http.StatusBadRequest || a.str("error") != "invalid state" {
			t.Errorf("forged state = %d %s, want 400 invalid state", a.status, a.body)
		}
		bad := url.Values{"code": {"not-a-code"}, "state": {back.Get("state")}}
		if a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: bad}); a.status != http.StatusBadRequest ||
			a.str("error") != "manifest code invalid, expired or already used" {
			t.Errorf("bad code = %d %s, want 400", a.status, a.body)
		}
		// A browser gets the refusal as a page.
		page := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: forged, headers: map[string]string{"Accept": "text/html"}})
		if page.status != http.StatusBadRequest || !strings.Contains(page.body, "invalid state") {
			t.Errorf("forged state (browser) = %d %q, want a 400 page", page.status, page.body)
		}
		if got := e.secrets.get("arn:key"); appmanifest.IsPEM(got) {
			t.Errorf("private key secret written despite the refusals")
		}
	})
}
