package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
)

// TestInstallThroughSandboxWebFlow follows the browser: the start URL leads to the
// sandbox's installation page, which redirects to the setup URL with a fresh code.
func TestInstallThroughSandboxWebFlow(t *testing.T) {
	e := newEnv(t)
	installURL, state := e.startInstall(alice)
	if !strings.HasPrefix(installURL, e.sbURL+"/apps/"+e.sb.AppSlug()+"/installations/new?state=") || state == "" {
		t.Fatalf("install URL = %q, want the App's installation page with a state", installURL)
	}
	resp, err := noRedirect.Get(installURL)
	if err != nil {
		t.Fatalf("GET install page: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Path != pathInstall {
		t.Fatalf("install page = %d Location %q, want 302 to the setup URL", resp.StatusCode, resp.Header.Get("Location"))
	}
	if loc.Query().Get("state") != state || loc.Query().Get("code") == "" {
		t.Fatalf("setup redirect query = %v, want our state and a code", loc.Query())
	}

	// GitHub's redirect is a browser navigation: an HTML page.
	a := e.callback(alice, loc.Query(), map[string]string{"Accept": "text/html,application/xhtml+xml"})
	if a.status != http.StatusOK || !strings.Contains(a.body, "GitHub App installed") || a.headers["Referrer-Policy"] != "no-referrer" {
		t.Fatalf("callback (browser) = %d %q, want 200 with the success page and no referrer", a.status, a.body)
	}

	got := e.do(call{method: http.MethodGet, path: pathInstallations, user: alice})
	list, _ := got.json["installations"].([]any)
	if got.status != http.StatusOK || len(list) != 1 {
		t.Fatalf("GET installations = %d %s, want one installation", got.status, got.body)
	}
	in := list[0].(map[string]any)
	if in["installation_id"] != float64(1) || in["account_login"] != aliceGH || in["repository_selection"] != "selected" ||
		fmt.Sprint(in["repositories"]) != "[alice-gh/alpha]" || in["github_login"] != aliceGH || in["status"] != store.InstallationActive {
		t.Errorf("installation = %v, want 1 of alice-gh, selected, [alice-gh/alpha], linked by alice-gh", in)
	}
	// Another user sees none of it.
	other := e.do(call{method: http.MethodGet, path: pathInstallations, user: bob})
	if l, _ := other.json["installations"].([]any); other.status != http.StatusOK || len(l) != 0 {
		t.Errorf("GET installations as bob = %d %s, want an empty list", other.status, other.body)
	}
}

func TestInstallSuccessRedirect(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.InstallSuccessURL = "https://app.example.test/settings?tab=github" })
	_, state := e.startInstall(alice)
	e.sb.AddOAuthCode("c1", aliceGH)
	a := e.callback(alice, url.Values{"installation_id": {"1"}, "setup_action": {"install"}, "state": {state}, "code": {"c1"}},
		map[string]string{"Accept": "text/html"})
	loc, _ := url.Parse(a.headers["Location"])
	if a.status != http.StatusFound || loc == nil || loc.Host != "app.example.test" ||
		loc.Query().Get("tab") != "github" || loc.Query().Get("status") != "success" || loc.Query().Get("installation_id") != "1" {
		t.Errorf("callback = %d Location %q, want 302 to the success URL with status and installation_id", a.status, a.headers["Location"])
	}
}

func TestInstallCallbackPOST(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name        string
		contentType string
		body        func(state, code string) string
		want        int
	}{
		{"json with numeric id", "application/json", func(s, c string) string {
			return fmt.Sprintf(`{"installation_id":1,"setup_action":"install","state":%q,"code":%q}`, s, c)
		}, http.StatusOK},
		{"json with string id", "application/json; charset=utf-8", func(s, c string) string {
			return fmt.Sprintf(`{"installation_id":"1","state":%q,"code":%q}`, s, c)
		}, http.StatusOK},
		{"form", "application/x-www-form-urlencoded", func(s, c string) string {
			return url.Values{"installation_id": {"1"}, "state": {s}, "code": {c}}.Encode()
		}, http.StatusOK},
		{"text", "text/plain", func(s, c string) string { return s }, http.StatusUnsupportedMediaType},
		{"broken json", "application/json", func(s, c string) string { return `{"state":` }, http.StatusBadRequest},
		{"json with duplicate keys", "application/json", func(s, c string) string {
			return fmt.Sprintf(`{"installation_id":1,"installation_id":4242,"state":%q,"code":%q}`, s, c)
		}, http.StatusBadRequest},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, state := e.startInstall(alice)
			code := fmt.Sprintf("post-%d", i)
			e.sb.AddOAuthCode(code, aliceGH)
			a := e.do(call{method: http.MethodPost, path: pathInstall, user: alice, body: tt.body(state, code), headers: map[string]string{"Content-Type": tt.contentType}})
			if a.status != tt.want {
				t.Fatalf("POST %s = %d %s, want %d", pathInstall, a.status, a.body, tt.want)
			}
			if tt.want == http.StatusOK && (a.str("status") != "success" || a.json["installation_id"] != float64(1)) {
				t.Errorf("POST %s = %s, want status success and installation_id 1", pathInstall, a.body)
			}
			if tt.want != http.StatusOK && a.str("error") == "" {
				t.Errorf("POST %s = %s, want an error reason", pathInstall, a.body)
			}
		})
	}
}

// TestInstallRefusals: every refusal is a 4xx with a reason, and nothing is stored.
func TestInstallRefusals(t *testing.T) {
	e := newEnv(t)
	other, err := New(Config{Store: e.store, GitHub: e.gh, StateKeys: [][]byte{[]byte("another-key-another-key-another-key!")}, WebURL: e.sbURL, AppSlug: "x", Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}

	type setup struct {
		q      url.Values
		before func(t *testing.T) // runs after the state is issued
	}
	fresh := func(t *testing.T, installationID, ghLogin string) url.Values {
		_, state := e.startInstall(alice)
		code := "code-" + strings.ReplaceAll(t.Name(), "/", "-")
		if ghLogin != "" {
			e.sb.AddOAuthCode(code, ghLogin)
		}
		return url.Values{"installation_id": {installationID}, "setup_action": {"install"}, "state": {state}, "code": {code}}
	}
	// edited is the setup of a fresh installation 1 callback changed by edit.
	edited := func(edit func(q url.Values)) func(t *testing.T) setup {
		return func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			edit(q)
			return setup{q: q}
		}
	}
	// stateOf is the setup of a fresh installation 1 callback with a state that issuer
	// issued for purpose and user instead.
	stateOf := func(issuer *API, purpose, user string) func(t *testing.T) setup {
		return func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			st, _, err := issuer.issueState(context.Background(), purpose, user, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			q.Set("state", st)
			return setup{q: q}
		}
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T) setup
		status int
		reason string
	}{
		{"missing state", edited(func(q url.Values) { q.Del("state") }), http.StatusBadRequest, "missing state"},
		// A state the other deployment signed, for an id this one never issued.
		{"forged state (other key)", stateOf(other, purposeInstall, alice), http.StatusBadRequest, "invalid state"},
		{"tampered expiry", func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			parts := strings.Split(q.Get("state"), ".")
			parts[1] = fmt.Sprint(e.clock.Now().Add(24 * time.Hour).Unix())
			q.Set("state", strings.Join(parts, "."))
			return setup{q: q}
		}, http.StatusBadRequest, "invalid state"},
		{"garbage state", edited(func(q url.Values) { q.Set("state", "not-a-state") }), http.StatusBadRequest, "invalid state"},
		{"manifest state used for an installation", stateOf(e.api, purposeManifest, manifestStateUser), http.StatusBadRequest, "invalid state"},
		{"expired state", func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			return setup{q: q, before: func(t *testing.T) { e.clock.Advance(DefaultInstallStateTTL + time.Second) }}
		}, http.StatusBadRequest, "state expired; start again"},
		{"replayed state", func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			// A first use that fails (the code is unknown) still uses the state up.
			first := q.Get("code")
			q.Set("code", "unknown-code")
			if a := e.callback(alice, q, nil); a.status != http.StatusBadRequest {
				t.Fatalf("first use = %d %s, want 400", a.status, a.body)
			}
			q.Set("code", first)
			return setup{q: q}
		}, http.StatusBadRequest, "state already used; start again"},
		{"foreign installation", func(t *testing.T) setup {
			return setup{q: fresh(t, "2", aliceGH)}
		}, http.StatusForbidden, "installation not accessible to this GitHub user"},
		{"unknown installation", func(t *testing.T) setup {
			return setup{q: fresh(t, "999", aliceGH)}
		}, http.StatusForbidden, "installation not accessible to this GitHub user"},
		{"failed code exchange (unknown code)", func(t *testing.T) setup {
			return setup{q: fresh(t, "1", "")}
		}, http.StatusBadRequest, "authorization code invalid, expired or already used"},
		{"failed code exchange (expired code)", edited(func(q url.Values) { e.sb.ExpireOAuthCode(q.Get("code")) }), http.StatusBadRequest, "authorization code invalid, expired or already used"},
		{"missing code", edited(func(q url.Values) { q.Del("code") }), http.StatusBadRequest, "missing code: the App must request user authorization (OAuth) during installation"},
		{"missing installation id", func(t *testing.T) setup {
			q := fresh(t, "", aliceGH)
			return setup{q: q}
		}, http.StatusBadRequest, "missing or invalid installation_id"},
		{"unknown setup action", edited(func(q url.Values) { q.Set("setup_action", "delete") }), http.StatusBadRequest, "unknown setup_action"},
		{"repeated parameter", edited(func(q url.Values) { q.Add("installation_id", "2") }), http.StatusBadRequest, "parameter installation_id given more than once"},
		{"suspended installation", func(t *testing.T) setup {
			q := fresh(t, "1", aliceGH)
			return setup{q: q, before: func(t *testing.T) {
				if err := e.sb.SetSuspended(1, true); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = e.sb.SetSuspended(1, false) })
			}}
		}, http.StatusForbidden, "installation is suspended"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.setup(t)
			if s.before != nil {
				s.before(t)
			}
			a := e.callback(alice, s.q, nil)
			if a.status != tt.status || a.str("error") != tt.reason {
				t.Errorf("callback = %d %s, want %d {\"error\":%q}", a.status, a.body, tt.status, tt.reason)
			}
			e.clock.Set(time.Now().UTC())
		})
	}
	// Nothing was stored by any refusal.
	links, err := e.store.UserInstallations(context.Background(), alice)
	if err != nil || len(links) != 0 {
		t.Errorf("UserInstallations(alice) = %v, %v, want none after refusals", links, err)
	}
	for _, id := range []int64{1, 2} {
		if _, err := e.store.GetInstallation(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetInstallation(%d) error = %v, want ErrNotFound after refusals", id, err)
		}
	}
}

func TestInstallRequestedAwaitsApproval(t *testing.T) {
	e := newEnv(t)
	_, state := e.startInstall(alice)
	a := e.callback(alice, url.Values{"setup_action": {"request"}, "state": {state}}, nil)
	if a.status != http.StatusAccepted || a.str("status") != "requested" || !strings.Contains(a.str("message"), "approve") {
		t.Errorf("callback(request) = %d %s, want 202 requested with an explanation", a.status, a.body)
	}
	if links, _ := e.store.UserInstallations(context.Background(), alice); len(links) != 0 {
		t.Errorf("UserInstallations(alice) = %v, want none for a request", links)
	}
}

// TestInstallUpdateWithoutState: GitHub's redirect after an installation was changed
// on GitHub carries no state; it is acknowledged and nothing is stored.
func TestInstallUpdateWithoutState(t *testing.T) {
	e := newEnv(t)
	e.sb.AddOAuthCode("upd", aliceGH)
	a := e.callback(alice, url.Values{"installation_id": {"1"}, "setup_action": {"update"}, "code": {"upd"}}, nil)
	if a.status != http.StatusOK || a.str("status") != "updated" {
		t.Errorf("callback(update, no state) = %d %s, want 200 updated", a.status, a.body)
	}
	if _, err := e.store.GetInstallation(context.Background(), 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetInstallation(1) error = %v, want nothing stored", err)
	}
	// With a state, an update links like an installation.
	_, state := e.startInstall(alice)
	a = e.callback(alice, url.Values{"installation_id": {"1"}, "setup_action": {"update"}, "state": {state}, "code": {"upd"}}, nil)
	if a.status != http.StatusOK || a.str("status") != "success" {
		t.Errorf("callback(update with state) = %d %s, want 200 success", a.status, a.body)
	}
}

func TestInstallWithoutAppOrKey(t *testing.T) {
	tests := []struct {
		name   string
		opt    envOption
		status int
		reason string
	}{
		{"no App", func(c *Config) { c.GitHub = nil }, http.StatusServiceUnavailable, "GitHub App not configured"},
		{"no slug", func(c *Config) { c.AppSlug = "" }, http.StatusServiceUnavailable, "GitHub App not configured"},
		{"no state key", func(c *Config) { c.StateKeys = nil }, http.StatusServiceUnavailable, "state signing key not configured"},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := e.cfg
			tt.opt(&cfg)
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := doRequest(t, a, buildRequest(call{method: http.MethodGet, path: pathInstallStart, user: alice}))
			if got.status != tt.status || got.str("error") != tt.reason {
				t.Errorf("GET %s = %d %s, want %d %q", pathInstallStart, got.status, got.body, tt.status, tt.reason)
			}
		})
	}
	if _, err := New(Config{Store: e.store, StateKeys: [][]byte{[]byte("short")}}); err == nil {
		t.Errorf("New(short state key) error = nil, want an error")
	}
}
