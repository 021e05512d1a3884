package ghsandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// oauthCodeTTL is how long GitHub accepts an OAuth code.
const oauthCodeTTL = 10 * time.Minute

type oauthCode struct {
	user    string
	expires time.Time
	used    bool
}

// AddOAuthCode registers a single-use OAuth code that stands for user, valid for ten
// minutes as on GitHub.
func (s *Sandbox) AddOAuthCode(code, user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.oauthCodes[code] = &oauthCode{user: user, expires: s.now().Add(oauthCodeTTL)}
}

// ExpireOAuthCode makes a registered code expired.
func (s *Sandbox) ExpireOAuthCode(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.oauthCodes[code]; ok {
		c.expires = s.now().Add(-time.Second)
	}
}

// redeemCode consumes a code and returns the user it stands for.
func (s *Sandbox) redeemCode(code string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.oauthCodes[code]; ok {
		if c.used || !s.now().Before(c.expires) {
			return "", false
		}
		c.used = true
		return c.user, true
	}
	if code == "" || s.opts.StrictOAuthCodes {
		return "", false
	}
	return s.opts.SandboxUser, true
}

// IssueUserToken mints an OAuth user token for login directly, for tests that do not go
// through the code exchange.
func (s *Sandbox) IssueUserToken(login string) string {
	raw := "ghu_" + randomHex(36)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userTokens[raw] = userToken{login: login, expires: s.now().Add(s.opts.UserTokenTTL)}
	return raw
}

// oauthParams reads client_id, client_secret and code from a form or JSON body.
func oauthParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&m); err != nil {
			return nil, false
		}
		v := url.Values{}
		for k, x := range m {
			if s, ok := x.(string); ok {
				v.Set(k, s)
			}
		}
		return v, true
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		return nil, false
	}
	return r.Form, true
}

// writeOAuth answers JSON when asked for it and form encoding otherwise, as GitHub does.
func writeOAuth(w http.ResponseWriter, r *http.Request, v map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, http.StatusOK, v)
		return
	}
	form := url.Values{}
	for k, x := range v {
		switch x := x.(type) {
		case string:
			form.Set(k, x)
		case int64:
			form.Set(k, strconv.FormatInt(x, 10))
		}
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, form.Encode())
}

func (s *Sandbox) handleOAuthToken(w http.ResponseWriter, r *http.Request) {
	p, ok := oauthParams(w, r)
	if !ok {
		writeError(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if p.Get("client_id") != s.opts.ClientID || p.Get("client_secret") != s.opts.ClientSecret {
		writeOAuth(w, r, map[string]any{
			"error":             "incorrect_client_credentials",
			"error_description": "The client_id and/or client_secret passed are incorrect.",
			"error_uri":         "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials",
		})
		return
	}
	user, ok := s.redeemCode(p.Get("code"))
	if !ok {
		writeOAuth(w, r, map[string]any{
			"error":             "bad_verification_code",
			"error_description": "The code passed is incorrect or expired.",
			"error_uri":         "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
		})
		return
	}
	tok := s.IssueUserToken(user)
	writeOAuth(w, r, map[string]any{
		"access_token":             tok,
		"expires_in":               int64(s.opts.UserTokenTTL / time.Second),
		"refresh_token":            "ghr_" + randomHex(36),
		"refresh_token_expires_in": int64(183 * 24 * time.Hour / time.Second),
		"token_type":               "bearer",
		"scope":                    "",
	})
}

func (s *Sandbox) handleUser(w http.ResponseWriter, r *http.Request) {
	login, ok := s.userAuth(w, r)
	if !ok {
		return
	}
	u := s.accountJSON(baseURL(r), login)
	u["type"] = "User"
	u["name"] = login
	// GitHub's public-user fields: what a user token of a GitHub App sees of its user.
	for k, v := range map[string]any{
		"company": nil, "blog": "", "location": nil, "email": nil, "hireable": nil, "bio": nil,
		"public_repos": 0, "public_gists": 0, "followers": 0, "following": 0,
		"created_at": appCreated, "updated_at": appCreated,
	} {
		u[k] = v
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *Sandbox) handleUserInstallations(w http.ResponseWriter, r *http.Request) {
	login, ok := s.userAuth(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	list := s.sortedInstallations(func(in Installation) bool { return in.hasUser(login) })
	s.mu.Unlock()
	lo, hi := paginate(w, r, len(list))
	out := []map[string]any{}
	for _, in := range list[lo:hi] {
		out = append(out, s.installationJSON(baseURL(r), in))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total_count": len(list), "installations": out})
}

func (s *Sandbox) handleUserInstallationRepos(w http.ResponseWriter, r *http.Request) {
	login, ok := s.userAuth(w, r)
	if !ok {
		return
	}
	in, ok := s.installationParam(r)
	if !ok || !in.hasUser(login) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	s.writeRepoPage(w, r, in, s.userRepos(in, login))
}

// handleInstallPage stands for the App's public installation page: the user "installs"
// on installation 1 and GitHub sends the browser to the setup URL with a fresh OAuth code.
func (s *Sandbox) handleInstallPage(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("slug") != s.opts.AppSlug {
		http.NotFound(w, r)
		return
	}
	setup := s.SetupURL()
	if setup == "" {
		http.Error(w, "sandbox: no setup URL configured (Options.SetupURL or a manifest's setup_url)", http.StatusNotFound)
		return
	}
	u, err := url.Parse(setup)
	if err != nil {
		http.Error(w, "sandbox: invalid setup URL", http.StatusInternalServerError)
		return
	}
	code := randomHex(10)
	s.AddOAuthCode(code, s.opts.SandboxUser)
	q := u.Query()
	q.Set("installation_id", "1")
	q.Set("setup_action", "install")
	if state := r.URL.Query().Get("state"); state != "" {
		q.Set("state", state)
	}
	q.Set("code", code)
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}
