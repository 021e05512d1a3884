package api

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

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
	page := e.do(call{method: http.MethodGet, path: pathAppRegister, query: query, cookies: e.registrationCookies(t), headers: map[string]string{"Accept": "text/html"}})
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

	a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back, cookies: e.registrationCookies(t)})
	if a.status != http.StatusOK || a.str("status") != "registered" || a.json["app_id"] != float64(e.sb.AppID()) ||
		a.str("slug") != e.sb.AppSlug() || a.str("client_id") != e.sb.ClientID() || !strings.HasSuffix(a.str("install_url"), "/installations/new") {
		t.Fatalf("GET %s = %d %s, want the registered App", pathAppRegistered, a.status, a.body)
	}
	for _, secret := range []string{e.sb.ClientSecret(), e.sb.WebhookSecret(), string(e.sb.PrivateKeyPEM())} {
		if strings.Contains(a.body, secret) {
			t.Errorf("answer %s holds a secret", a.body)
		}
	}
	if got := e.secrets.Value("arn:key"); got != string(e.sb.PrivateKeyPEM()) {
		t.Errorf("private key secret = %.40q, want the App's PEM", got)
	}
	if got := e.secrets.Value("arn:webhook"); got != e.sb.WebhookSecret() {
		t.Errorf("webhook secret = %q, want the App's", got)
	}
	if got := e.secrets.Value("arn:client"); got != e.sb.ClientSecret() {
		t.Errorf("client secret = %q, want the App's", got)
	}
	var reg appmanifest.Registration
	if err := json.Unmarshal([]byte(e.secrets.Value("arn:registration")), &reg); err != nil || reg.AppID != e.sb.AppID() ||
		reg.Slug != e.sb.AppSlug() || reg.ClientID != e.sb.ClientID() {
		t.Errorf("registration secret = %s, want app id, slug and client id", e.secrets.Value("arn:registration"))
	}

	// Registration is closed now, and the used state cannot come back.
	if again := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t)}); again.status != http.StatusConflict {
		t.Errorf("GET %s after registration = %d %s, want 409", pathAppRegister, again.status, again.body)
	}
	if replay := e.do(call{method: http.MethodGet, path: pathAppRegistered, cookies: e.registrationCookies(t), query: back}); replay.status != http.StatusBadRequest || replay.str("error") != "state already used; start again" {
		t.Errorf("replayed registration = %d %s, want 400 state already used", replay.status, replay.body)
	}
}

func TestManifestFlowRefusals(t *testing.T) {
	t.Run("org page", func(t *testing.T) {
		e := newEnv(t)
		a := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t), query: url.Values{"org": {"org-b"}}})
		if m := formAction.FindStringSubmatch(a.body); a.status != http.StatusOK || m == nil ||
			!strings.HasPrefix(html.UnescapeString(m[1]), e.sbURL+"/organizations/org-b/settings/apps/new?state=") {
			t.Errorf("GET %s?org=org-b = %d, form %v, want the organization's new-App page", pathAppRegister, a.status, m)
		}
		if bad := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t), query: url.Values{"org": {"../x"}}}); bad.status != http.StatusBadRequest {
			t.Errorf("GET %s?org=../x = %d, want 400", pathAppRegister, bad.status)
		}
	})
	t.Run("App configured at start", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AppConfigured = true })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t)}); a.status != http.StatusConflict {
			t.Errorf("GET %s = %d %s, want 409", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("key already in the secret", func(t *testing.T) {
		e := newEnv(t)
		e.secrets.Set("arn:key", string(e.sb.PrivateKeyPEM()))
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t)}); a.status != http.StatusConflict {
			t.Errorf("GET %s = %d %s, want 409", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("secrets unreadable: fail closed", func(t *testing.T) {
		e := newEnv(t)
		back := registerThroughSandbox(t, e, nil)
		e.secrets.FailGets(true)
		a := e.do(call{method: http.MethodGet, path: pathAppRegistered, cookies: e.registrationCookies(t), query: back})
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("GET %s = %d %s, want 503", pathAppRegistered, a.status, a.body)
		}
		e.secrets.FailGets(false)
		if got := e.secrets.Value("arn:key"); appmanifest.IsPEM(got) {
			t.Errorf("private key secret written despite the refusal")
		}
	})
	t.Run("no front end installation page", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.InstallSetupURL = "" })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t)}); a.status != http.StatusServiceUnavailable || !strings.Contains(a.str("error"), "InstallSetupUrl") {
			t.Errorf("GET %s = %d %s, want 503 naming InstallSetupUrl", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("no secrets configured", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.SecretTargets = appmanifest.Secrets{} })
		if a := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: e.registrationCookies(t)}); a.status != http.StatusServiceUnavailable {
			t.Errorf("GET %s = %d %s, want 503", pathAppRegister, a.status, a.body)
		}
	})
	t.Run("forged state and bad code", func(t *testing.T) {
		e := newEnv(t)
		back := registerThroughSandbox(t, e, nil)
		forged := url.Values{"code": {back.Get("code")}, "state": {"00000000000000000000000000000000.9999999999.AAAA"}}
		if a := e.do(call{method: http.MethodGet, path: pathAppRegistered, cookies: e.registrationCookies(t), query: forged}); a.status != http.StatusBadRequest || a.str("error") != "invalid state" {
			t.Errorf("forged state = %d %s, want 400 invalid state", a.status, a.body)
		}
		bad := url.Values{"code": {"not-a-code"}, "state": {back.Get("state")}}
		if a := e.do(call{method: http.MethodGet, path: pathAppRegistered, cookies: e.registrationCookies(t), query: bad}); a.status != http.StatusBadRequest ||
			a.str("error") != "manifest code invalid, expired or already used" {
			t.Errorf("bad code = %d %s, want 400", a.status, a.body)
		}
		// A browser gets the refusal as a page.
		page := e.do(call{method: http.MethodGet, path: pathAppRegistered, cookies: e.registrationCookies(t), query: forged, headers: map[string]string{"Accept": "text/html"}})
		if page.status != http.StatusBadRequest || !strings.Contains(page.body, "invalid state") {
			t.Errorf("forged state (browser) = %d %q, want a 400 page", page.status, page.body)
		}
		if got := e.secrets.Value("arn:key"); appmanifest.IsPEM(got) {
			t.Errorf("private key secret written despite the refusals")
		}
	})
}

// registrationCookies trades the registration token for the session cookie, as the
// operator's browser does on opening the AppRegistrationUrl with ?token=, and returns
// the cookies to send back ("name=value").
func (e *env) registrationCookies(t *testing.T) []string {
	t.Helper()
	a := e.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"token": {testRegistrationToken}}})
	if a.status != http.StatusSeeOther || len(a.cookies) != 1 {
		t.Fatalf("GET %s?token= = %d %v %s, want 303 with the session cookie", pathAppRegister, a.status, a.cookies, a.body)
	}
	c, err := http.ParseSetCookie(a.cookies[0])
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", a.cookies[0], err)
	}
	return []string{c.Name + "=" + c.Value}
}

func TestRegistrationTokenExchange(t *testing.T) {
	e := newEnv(t)
	a := e.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"token": {testRegistrationToken}, "org": {"org-b"}}})
	if a.status != http.StatusSeeOther || a.headers["Location"] != pathAppRegister+"?org=org-b" {
		t.Fatalf("GET %s?token=…&org=org-b = %d Location %q, want 303 to %s?org=org-b (token dropped)", pathAppRegister, a.status, a.headers["Location"], pathAppRegister)
	}
	if len(a.cookies) != 1 {
		t.Fatalf("Set-Cookie = %v, want one cookie", a.cookies)
	}
	c, err := http.ParseSetCookie(a.cookies[0])
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", a.cookies[0], err)
	}
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != registrationCookiePath ||
		c.MaxAge <= 0 || c.MaxAge > int(DefaultManifestStateTTL.Seconds()) {
		t.Errorf("cookie = %+v, want HttpOnly, Secure, SameSite=Lax, Path %s, Max-Age ≤ the manifest state's life", c, registrationCookiePath)
	}
	if strings.Contains(a.cookies[0], testRegistrationToken) || strings.Contains(a.headers["Location"], testRegistrationToken) {
		t.Errorf("the token itself travels on: cookie %q, Location %q", a.cookies[0], a.headers["Location"])
	}
	if a.headers["Referrer-Policy"] != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", a.headers["Referrer-Policy"])
	}
	// Behind a base path (PublicBaseURL), the redirect and the cookie keep it.
	based := newEnv(t, func(c *Config) { c.PublicBaseURL = "https://api.example.test/v1" })
	b := based.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"token": {testRegistrationToken}}})
	if bc, err := http.ParseSetCookie(strings.Join(b.cookies, "")); err != nil || b.headers["Location"] != "/v1"+pathAppRegister || bc.Path != "/v1"+registrationCookiePath {
		t.Errorf("with a base path: Location %q, cookie %v (%v), want both under /v1", b.headers["Location"], b.cookies, err)
	}

	// The session runs out with the manifest state.
	cookies := []string{c.Name + "=" + c.Value}
	e.clock.Advance(DefaultManifestStateTTL + time.Second)
	if late := e.do(call{method: http.MethodGet, path: pathAppRegister, cookies: cookies}); late.status != http.StatusForbidden {
		t.Errorf("GET %s with an expired session = %d %s, want 403", pathAppRegister, late.status, late.body)
	}
}

// TestRegistrationNeedsToken: whoever finds the registration URL before the owner
// cannot register an App; refused requests write no secret.
func TestRegistrationNeedsToken(t *testing.T) {
	forgedCookie := registrationCookie + "=" + registrationProof("not-the-token-0123456789abcdef-0123456789", time.Now().Add(time.Hour).Unix())
	tests := []struct {
		name    string
		opt     envOption
		query   url.Values
		cookies []string
		want    int
	}{
		{"no token", nil, nil, nil, http.StatusForbidden},
		{"wrong token", nil, url.Values{"token": {"guess-0123456789abcdef-0123456789abcdef"}}, nil, http.StatusForbidden},
		{"token given twice", nil, url.Values{"token": {testRegistrationToken, "x"}}, nil, http.StatusBadRequest},
		{"cookie made with another token", nil, nil, []string{forgedCookie}, http.StatusForbidden},
		{"no token configured", func(c *Config) { c.RegistrationToken = "" }, url.Values{"token": {testRegistrationToken}}, nil, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []envOption
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			e := newEnv(t, opts...)
			for _, path := range []string{pathAppRegister, pathAppRegistered} {
				q := url.Values{"code": {"any"}, "state": {"00000000000000000000000000000000.9999999999.AAAA"}}
				if path == pathAppRegister {
					q = url.Values{}
				}
				for k, v := range tt.query {
					q[k] = v
				}
				a := e.do(call{method: http.MethodGet, path: path, query: q, cookies: tt.cookies})
				if a.status != tt.want {
					t.Errorf("GET %s = %d %s, want %d", path, a.status, a.body, tt.want)
				}
			}
			if n := e.secrets.Puts(); n != 0 {
				t.Errorf("PutSecretValue called %d times, want 0", n)
			}
		})
	}

	t.Run("App already configured", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.AppConfigured = true })
		cookies := e.registrationCookies(t)
		for _, path := range []string{pathAppRegister, pathAppRegistered} {
			a := e.do(call{method: http.MethodGet, path: path, cookies: cookies,
				query: url.Values{"code": {"any"}, "state": {"00000000000000000000000000000000.9999999999.AAAA"}}})
			if a.status != http.StatusConflict && a.status != http.StatusBadRequest {
				t.Errorf("GET %s = %d %s, want a refusal", path, a.status, a.body)
			}
		}
		if n := e.secrets.Puts(); n != 0 {
			t.Errorf("PutSecretValue called %d times, want 0", n)
		}
	})

	// A leaked state and code (they travel through GitHub's URLs) are not enough
	// without the operator's session.
	t.Run("state and code without the session", func(t *testing.T) {
		e := newEnv(t)
		back := registerThroughSandbox(t, e, nil)
		a := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back})
		if a.status != http.StatusForbidden {
			t.Errorf("GET %s without the session = %d %s, want 403", pathAppRegistered, a.status, a.body)
		}
		if n := e.secrets.Puts(); n != 0 {
			t.Errorf("PutSecretValue called %d times, want 0", n)
		}
		// The operator's own browser still finishes.
		if ok := e.do(call{method: http.MethodGet, path: pathAppRegistered, query: back, cookies: e.registrationCookies(t)}); ok.status != http.StatusOK {
			t.Errorf("GET %s with the session = %d %s, want 200", pathAppRegistered, ok.status, ok.body)
		}
	})

	t.Run("token never logged", func(t *testing.T) {
		e := newEnv(t)
		e.do(call{method: http.MethodGet, path: pathAppRegister, query: url.Values{"token": {testRegistrationToken + "x"}}})
		registerThroughSandbox(t, e, nil)
		if strings.Contains(e.logs.String(), testRegistrationToken) {
			t.Errorf("logs hold the registration token")
		}
	})
}
