package ghsandbox

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// manifestCodeTTL is how long GitHub accepts a manifest code.
const manifestCodeTTL = time.Hour

type manifestCode struct {
	name    string
	expires time.Time
}

// Manifest is the part of an App manifest the sandbox reads.
type Manifest struct {
	Name           string   `json:"name"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	RedirectURL    string   `json:"redirect_url"`
	SetupURL       string   `json:"setup_url"`
	CallbackURLs   []string `json:"callback_urls"`
	HookAttributes struct {
		URL    string `json:"url"`
		Active *bool  `json:"active"`
	} `json:"hook_attributes"`
	Public             bool              `json:"public"`
	DefaultEvents      []string          `json:"default_events"`
	DefaultPermissions map[string]string `json:"default_permissions"`
}

// AddManifestCode registers a manifest code, as if a user had confirmed a manifest, so
// tests can convert it without the web flow. It is single-use and valid for an hour.
func (s *Sandbox) AddManifestCode(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.manifestCodes[code] = &manifestCode{name: s.opts.AppName, expires: s.now().Add(manifestCodeTTL)}
}

// LastManifest returns the last manifest posted to the web flow.
func (s *Sandbox) LastManifest() (Manifest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastManifest == nil {
		return Manifest{}, false
	}
	return *s.lastManifest, true
}

var manifestPage = template.Must(template.New("manifest").Parse(`<!doctype html>
<html><head><title>Register a GitHub App (sandbox)</title></head>
<body>
<h1>Register a GitHub App (sandbox)</h1>
<form method="post" action="{{.Action}}">
<textarea name="manifest" rows="20" cols="80"></textarea>
<p><button type="submit">Create GitHub App</button></p>
</form>
</body></html>
`))

// handleManifestPage is the form GitHub shows; real callers post the manifest directly.
func (s *Sandbox) handleManifestPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = manifestPage.Execute(w, struct{ Action string }{Action: r.URL.RequestURI()})
}

// handleManifestPost creates "the App" from a posted manifest and sends the browser to
// the manifest's redirect_url with a single-use code and the state.
func (s *Sandbox) handleManifestPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "invalid form", http.StatusBadRequest)
		return
	}
	var m Manifest
	if err := json.Unmarshal([]byte(r.PostForm.Get("manifest")), &m); err != nil {
		http.Error(w, "invalid manifest: not JSON", http.StatusUnprocessableEntity)
		return
	}
	redirect, err := url.Parse(m.RedirectURL)
	if err != nil || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		http.Error(w, "invalid manifest: redirect_url must be an absolute http(s) URL", http.StatusUnprocessableEntity)
		return
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = r.PostForm.Get("state")
	}
	name := m.Name
	if name == "" {
		name = s.opts.AppName
	}
	code := randomHex(10)
	s.mu.Lock()
	s.manifestCodes[code] = &manifestCode{name: name, expires: s.now().Add(manifestCodeTTL)}
	s.lastManifest = &m
	if m.SetupURL != "" && s.opts.SetupURL == "" {
		s.setupURL = m.SetupURL
	}
	s.mu.Unlock()
	q := redirect.Query()
	q.Set("code", code)
	if state != "" {
		q.Set("state", state)
	}
	redirect.RawQuery = q.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

// handleManifestConversion hands out the App's credentials for a manifest code, once.
func (s *Sandbox) handleManifestConversion(w http.ResponseWriter, r *http.Request) {
	code := r.PathValue("code")
	s.mu.Lock()
	mc, ok := s.manifestCodes[code]
	delete(s.manifestCodes, code)
	s.mu.Unlock()
	if !ok || !s.now().Before(mc.expires) {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	base := baseURL(r)
	now := timeString(s.now())
	writeJSON(w, http.StatusCreated, map[string]any{
		"id":             s.opts.AppID,
		"slug":           s.opts.AppSlug,
		"node_id":        "A_sandbox" + strconv.FormatInt(s.opts.AppID, 10),
		"name":           mc.name,
		"owner":          s.accountJSON(base, s.opts.SandboxUser),
		"html_url":       base + "/apps/" + s.opts.AppSlug,
		"description":    "",
		"external_url":   base,
		"created_at":     now,
		"updated_at":     now,
		"client_id":      s.opts.ClientID,
		"client_secret":  s.opts.ClientSecret,
		"webhook_secret": s.opts.WebhookSecret,
		"pem":            string(s.keyPEM),
		"permissions":    appPermissions,
		"events":         appEvents,
	})
}
