package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRouting(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		c      call
		status int
		reason string
		allow  string
	}{
		{"unknown route", call{method: "GET", path: "/nope", user: alice}, 404, "route not found", ""},
		{"unknown subroute", call{method: "GET", path: "/projects/0f1e2d3c4b5a69788796a5b4c3d2e1f0/nope", user: alice}, 404, "route not found", ""},
		{"wrong method", call{method: "PUT", path: "/projects", user: alice}, 405, "method not allowed", "GET, POST"},
		{"wrong method on item", call{method: "PATCH", path: "/projects/0f1e2d3c4b5a69788796a5b4c3d2e1f0", user: alice}, 405, "method not allowed", "DELETE, GET"},
		{"not an id", call{method: "GET", path: "/projects/guard%23x", user: alice}, 404, "project not found", ""},
		{"trailing slash", call{method: "GET", path: "/projects/", user: alice}, 200, "", ""},
		{"history handed over", call{method: "GET", path: "/webhooks/github/events/stats", user: alice}, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := e.do(tt.c)
			if a.status != tt.status || (tt.reason != "" && a.str("error") != tt.reason) {
				t.Errorf("%s %s = %d %s, want %d %q", tt.c.method, tt.c.path, a.status, a.body, tt.status, tt.reason)
			}
			if tt.allow != "" && a.headers["Allow"] != tt.allow {
				t.Errorf("%s %s Allow = %q, want %q", tt.c.method, tt.c.path, a.headers["Allow"], tt.allow)
			}
		})
	}
}

// TestAuthenticatedRoutesNeedCaller: without the authorizer's claims every
// authenticated route answers 401 and touches nothing.
func TestAuthenticatedRoutesNeedCaller(t *testing.T) {
	e := newEnv(t)
	for _, r := range e.api.Routes() {
		path := strings.ReplaceAll(r.Path, "{id}", "0f1e2d3c4b5a69788796a5b4c3d2e1f0")
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			a := e.do(call{method: r.Method, path: path, body: `{"repo":"alice-gh/alpha"}`, headers: map[string]string{"Content-Type": "application/json"}})
			switch {
			case r.Authenticated && (a.status != http.StatusUnauthorized || a.str("error") != "authentication required"):
				t.Errorf("%s %s without caller = %d %s, want 401", r.Method, path, a.status, a.body)
			case !r.Authenticated && a.status == http.StatusUnauthorized:
				t.Errorf("%s %s (public) = 401, want the route's own answer", r.Method, path)
			}
		})
	}
	// An empty sub is no caller either.
	req := buildRequest(call{method: "GET", path: pathProjects, user: alice})
	req.RequestContext.Authorizer.JWT.Claims["sub"] = " "
	if a := doRequest(t, e.api, req); a.status != http.StatusUnauthorized {
		t.Errorf("GET /projects with empty sub = %d, want 401", a.status)
	}
}

// TestGitHubUnavailable: GitHub failures that may pass become 503, not 4xx, and store
// nothing.
func TestGitHubUnavailable(t *testing.T) {
	e := newEnv(t)
	_, state := e.startInstall(alice)
	e.sb.AddOAuthCode("c-503", aliceGH)
	e.sb.FailNext("GET", "/user/installations", 1, http.StatusBadGateway)
	a := e.callback(alice, url.Values{"installation_id": {"1"}, "state": {state}, "code": {"c-503"}}, nil)
	if a.status != http.StatusServiceUnavailable || a.str("error") != "GitHub is unavailable; try again later" {
		t.Errorf("callback with GitHub down = %d %s, want 503", a.status, a.body)
	}

	e.install(alice, aliceGH, 1)
	e.sb.FailNext("GET", "/repos/*/*", 1, http.StatusServiceUnavailable)
	if a := e.createProject(alice, map[string]string{"repo": alphaRepo}); a.status != http.StatusServiceUnavailable {
		t.Errorf("POST /projects with GitHub down = %d %s, want 503", a.status, a.body)
	}
	list := e.do(call{method: "GET", path: pathProjects, user: alice})
	if ps, _ := list.json["projects"].([]any); len(ps) != 0 {
		t.Errorf("projects after the failure = %d, want none", len(ps))
	}
}

// TestAuditTrail: the App interactions leave audit lines naming who and what, and no
// log line holds a code, a state, a token or a secret.
func TestAuditTrail(t *testing.T) {
	e := newEnv(t)
	e.install(alice, aliceGH, 1)
	_, state := e.startInstall(alice)
	e.sb.AddOAuthCode("secret-code-foreign", aliceGH)
	e.callback(alice, url.Values{"installation_id": {"2"}, "state": {state}, "code": {"secret-code-foreign"}}, nil)
	e.callback(alice, url.Values{"installation_id": {"2"}, "state": {state}, "code": {"secret-code-foreign"}}, nil)
	created := e.createProject(alice, map[string]string{"repo": alphaRepo})
	e.createProject(alice, map[string]string{"repo": betaRepo})
	e.do(call{method: "DELETE", path: "/projects/" + created.str("id"), user: alice})

	type key struct{ action, outcome string }
	seen := map[key]map[string]any{}
	for _, l := range e.logs.Lines(t) {
		if l["audit"] == true {
			seen[key{fmt.Sprint(l["action"]), fmt.Sprint(l["outcome"])}] = l
		}
	}
	for _, k := range []key{
		{"state_issued", "ok"}, {"state_consumed", "ok"}, {"state_refused", "refused"},
		{"installation_stored", "ok"}, {"installation_linked", "ok"}, {"installation_refused", "refused"},
		{"repository_access_validated", "ok"}, {"repository_access_refused", "refused"},
		{"project_created", "ok"}, {"project_deleted", "ok"},
		{"oauth_code_exchanged", "ok"}, {"token_minted", "ok"},
	} {
		l, ok := seen[k]
		if !ok {
			t.Errorf("no audit line %s/%s", k.action, k.outcome)
			continue
		}
		if k.action != "state_refused" && k.action != "token_minted" && l["user"] == nil {
			t.Errorf("audit line %s lacks the user: %v", k.action, l)
		}
	}
	if l := seen[key{"installation_refused", "refused"}]; l["installation_id"] != float64(2) || l["user"] != alice {
		t.Errorf("installation_refused = %v, want alice and installation 2", l)
	}
	logs := e.logs.String()
	for _, secret := range []string{"secret-code-foreign", state, e.sb.ClientSecret(), "ghu_", "ghs_", "BEGIN RSA"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q", secret)
		}
	}
}

func TestStateSigner(t *testing.T) {
	k1, k2 := []byte("key-one-key-one-key-one-key-one-!"), []byte("key-two-key-two-key-two-key-two-!")
	exp := time.Unix(1_800_000_000, 0)
	id := "00112233445566778899aabbccddeeff"
	old := stateSigner{keys: [][]byte{k1}}
	rotated := stateSigner{keys: [][]byte{k2, k1}}
	tok := old.sign(purposeInstall, id, exp)
	tests := []struct {
		name    string
		s       stateSigner
		purpose string
		token   string
		ok      bool
	}{
		{"same key", old, purposeInstall, tok, true},
		{"after rotation", rotated, purposeInstall, tok, true},
		{"other purpose", old, purposeManifest, tok, false},
		{"key removed", stateSigner{keys: [][]byte{k2}}, purposeInstall, tok, false},
		{"truncated signature", old, purposeInstall, tok[:len(tok)-2], false},
		{"other id", old, purposeInstall, strings.Replace(tok, id, "ffeeddccbbaa99887766554433221100", 1), false},
		{"not hex id", old, purposeInstall, strings.Replace(tok, id, strings.Repeat("z", 32), 1), false},
		{"two parts", old, purposeInstall, "a.b", false},
		{"upper-case id", old, purposeInstall, strings.ToUpper(id) + tok[len(id):], false},
		{"expiry with a plus sign", old, purposeInstall, strings.Replace(tok, ".1800000000.", ".+1800000000.", 1), false},
		{"expiry with a leading zero", old, purposeInstall, strings.Replace(tok, ".1800000000.", ".01800000000.", 1), false},
		{"signature with stray trailing bits", old, purposeInstall, tok[:len(tok)-1] + flipTrailingBits(tok[len(tok)-1:]), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotID, gotExp, err := tt.s.verify(tt.purpose, tt.token)
			if (err == nil) != tt.ok {
				t.Fatalf("verify(%q) error = %v, want ok %v", tt.token, err, tt.ok)
			}
			if tt.ok && (gotID != id || !gotExp.Equal(exp)) {
				t.Errorf("verify(%q) = %s, %v, want %s, %v", tt.token, gotID, gotExp, id, exp)
			}
		})
	}
	if rotated.sign(purposeInstall, id, exp) == tok {
		t.Errorf("sign after rotation used the old key")
	}
}

// flipTrailingBits changes the last character of 43-character unpadded base64 (32 bytes)
// in its two unused low bits: decoders that do not check them read the same bytes.
func flipTrailingBits(c string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.Index(alphabet, c)
	return string(alphabet[i^1])
}

// FuzzStateToken checks the state token parser: verify never panics, and accepts a token
// only when it is exactly what sign gives for its id, expiry and purpose under one of the
// keys.
func FuzzStateToken(f *testing.F) {
	k1, k2 := []byte("key-one-key-one-key-one-key-one-!"), []byte("key-two-key-two-key-two-key-two-!")
	s := stateSigner{keys: [][]byte{k1, k2}}
	id := "00112233445566778899aabbccddeeff"
	f.Add(purposeInstall, s.sign(purposeInstall, id, time.Unix(1_800_000_000, 0)))
	f.Add(purposeManifest, stateSigner{keys: [][]byte{k2}}.sign(purposeManifest, id, time.Unix(-1, 0)))
	f.Add(purposeInstall, id+".1800000000.")
	f.Add(purposeInstall, "..")
	f.Add(purposeManifest, id+".-9223372036854775808."+strings.Repeat("A", 43))
	f.Fuzz(func(t *testing.T, purpose, token string) {
		gotID, exp, err := s.verify(purpose, token)
		if err != nil {
			return
		}
		for _, k := range s.keys {
			if (stateSigner{keys: [][]byte{k}}).sign(purpose, gotID, exp) == token {
				return
			}
		}
		t.Fatalf("verify(%q, %q) = %s, %v, nil, but no key signs that token", purpose, token, gotID, exp)
	})
}
