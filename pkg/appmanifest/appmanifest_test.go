package appmanifest

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/local/ghsandbox"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

func TestDefinition(t *testing.T) {
	m, err := Definition()
	if err != nil {
		t.Fatalf("Definition() error = %v", err)
	}
	wantPerms := map[string]string{"contents": "read", "metadata": "read", "issues": "read", "pull_requests": "read"}
	if !maps.Equal(m.DefaultPermissions, wantPerms) {
		t.Errorf("DefaultPermissions = %v, want read-only %v", m.DefaultPermissions, wantPerms)
	}
	if got := strings.Join(m.DefaultEvents, ","); got != "push,pull_request,issues" {
		t.Errorf("DefaultEvents = %s, want push,pull_request,issues", got)
	}
	if m.Public || !m.RequestOAuthOnInstall || !m.SetupOnUpdate || !m.HookAttributes.Active || m.Name == "" {
		t.Errorf("Definition() = %+v, want private, OAuth on install, setup on update, active hook, a name", m)
	}
	// The raw file has every field GitHub reads, so it works for the manual path too.
	var raw map[string]any
	if err := json.Unmarshal(manifestJSON, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "url", "hook_attributes", "redirect_url", "callback_urls", "setup_url", "setup_on_update",
		"request_oauth_on_install", "public", "default_permissions", "default_events"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("manifest.json lacks %q", k)
		}
	}
}

func TestForDeployment(t *testing.T) {
	tests := []struct {
		base, name string
		wantHook   string
		wantName   string
	}{
		{"https://abc.execute-api.eu-west-1.amazonaws.com", "", "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/github", "RepoTrackr"},
		{"https://api.example.com/", "RepoTrackr Acme", "https://api.example.com/webhooks/github", "RepoTrackr Acme"},
		{"https://example.com/prefix", "", "https://example.com/prefix/webhooks/github", "RepoTrackr"},
		{"http://127.0.0.1:3000", "", "http://127.0.0.1:3000/webhooks/github", "RepoTrackr"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			m, err := ForDeployment(tt.base, tt.name)
			if err != nil {
				t.Fatalf("ForDeployment(%q) error = %v", tt.base, err)
			}
			prefix := strings.TrimSuffix(tt.wantHook, "/webhooks/github")
			if m.HookAttributes.URL != tt.wantHook || m.SetupURL != prefix+"/auth/github/install" ||
				m.RedirectURL != prefix+"/github/app/registered" || m.URL != prefix+"/" ||
				len(m.CallbackURLs) != 1 || m.CallbackURLs[0] != prefix+"/auth/github/install" || m.Name != tt.wantName {
				t.Errorf("ForDeployment(%q) = %+v, want URLs under %s and name %q", tt.base, m, prefix, tt.wantName)
			}
		})
	}
	for _, bad := range []string{"", "api.example.com", "ftp://x", "https://"} {
		if _, err := ForDeployment(bad, ""); err == nil {
			t.Errorf("ForDeployment(%q) error = nil, want an error", bad)
		}
	}
	// The embedded definition is not changed by filling it in.
	if d, _ := Definition(); d.HookAttributes.URL != "/webhooks/github" {
		t.Errorf("Definition().HookAttributes.URL = %q after ForDeployment, want the path", d.HookAttributes.URL)
	}
}

func TestNewAppURL(t *testing.T) {
	tests := []struct {
		web, org, state, want string
		err                   error
	}{
		{"https://github.com/", "", "a.b.c", "https://github.com/settings/apps/new?state=a.b.c", nil},
		{"https://ghe.example.com", "acme", "s", "https://ghe.example.com/organizations/acme/settings/apps/new?state=s", nil},
		{"https://github.com/", "", "x&y=z", "https://github.com/settings/apps/new?state=x%26y%3Dz", nil},
		{"https://github.com/", "../evil", "s", "", ErrInvalidOrg},
		{"https://github.com/", "a/b", "s", "", ErrInvalidOrg},
	}
	for _, tt := range tests {
		got, err := NewAppURL(tt.web, tt.org, tt.state)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("NewAppURL(%q, %q, %q) = %q, %v, want %q, %v", tt.web, tt.org, tt.state, got, err, tt.want, tt.err)
		}
	}
}

func TestConverter(t *testing.T) {
	sb, base := ghsandbox.NewServer(t, ghsandbox.Options{})
	c, err := NewConverter(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb.AddManifestCode("m-1")
	creds, err := c.ConvertManifest(context.Background(), "m-1")
	if err != nil {
		t.Fatalf("ConvertManifest(m-1) error = %v", err)
	}
	if creds.ID != sb.AppID() || creds.Slug != sb.AppSlug() || string(creds.PEM) != string(sb.PrivateKeyPEM()) ||
		creds.WebhookSecret != sb.WebhookSecret() || creds.ClientID != sb.ClientID() || creds.ClientSecret != sb.ClientSecret() {
		t.Errorf("ConvertManifest(m-1) = %v, want the sandbox App's credentials", creds)
	}
	for _, code := range []string{"m-1", "never-issued", ""} {
		if _, err := c.ConvertManifest(context.Background(), code); !errors.Is(err, ghapp.ErrBadCode) {
			t.Errorf("ConvertManifest(%q) error = %v, want ErrBadCode", code, err)
		}
	}

	// A server failure is an error that does not carry the code (it sits in the URL).
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"message":"boom"}`, http.StatusInternalServerError)
	}))
	defer down.Close()
	c2, _ := NewConverter(down.URL, nil)
	_, err = c2.ConvertManifest(context.Background(), "top-secret-code")
	if err == nil || errors.Is(err, ghapp.ErrBadCode) || strings.Contains(err.Error(), "top-secret-code") {
		t.Errorf("ConvertManifest(server down) error = %v, want a plain error without the code", err)
	}
	if _, err := NewConverter("not a url", nil); err == nil {
		t.Errorf("NewConverter(bad URL) error = nil, want an error")
	}
}

func TestSecretsSaveAndConfigured(t *testing.T) {
	key, err := ghsandbox.TestKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	pemKey := string(key)
	creds := ghapp.AppCredentials{ID: 42, Slug: "repotrackr", Name: "RepoTrackr", ClientID: "Iv1.x", ClientSecret: "cs",
		WebhookSecret: "wh", PEM: []byte(pemKey), HTMLURL: "https://github.com/apps/repotrackr"}
	targets := Secrets{PrivateKeyARN: "k", WebhookSecretARN: "w", ClientSecretARN: "c", RegistrationARN: "r"}
	placeholder := `{"pending":"register the App"}`
	fresh := func() *testkit.Secrets {
		return testkit.NewSecrets(map[string]string{"k": placeholder, "w": "gen", "c": placeholder, "r": placeholder})
	}

	sm := fresh()
	if ok, err := targets.Configured(context.Background(), sm); ok || err != nil {
		t.Fatalf("Configured(placeholders) = %v, %v, want false", ok, err)
	}
	if err := targets.Save(context.Background(), sm, creds); err != nil {
		t.Fatalf("Save error = %v", err)
	}
	if sm.Value("k") != pemKey || sm.Value("w") != "wh" || sm.Value("c") != "cs" {
		t.Errorf("secrets after Save = %q, %q, %q, want key, webhook secret and client secret", sm.Value("k"), sm.Value("w"), sm.Value("c"))
	}
	reg, err := LoadRegistration(context.Background(), sm, "r")
	if err != nil || reg.AppID != 42 || reg.Slug != "repotrackr" || reg.ClientID != "Iv1.x" {
		t.Errorf("LoadRegistration = %+v, %v, want app 42", reg, err)
	}
	// The processor and redeliver functions read the App id from the same secret.
	if id, err := ghapp.RegisteredAppID(context.Background(), sm, "r"); err != nil || id != 42 {
		t.Errorf("ghapp.RegisteredAppID(after Save) = %d, %v, want 42", id, err)
	}
	if strings.Contains(sm.Value("r"), "cs") || strings.Contains(sm.Value("r"), "BEGIN") {
		t.Errorf("registration secret %s holds secrets", sm.Value("r"))
	}
	if ok, err := targets.Configured(context.Background(), sm); !ok || err != nil {
		t.Errorf("Configured(after Save) = %v, %v, want true", ok, err)
	}

	// A failure part-way leaves the flow open (key and registration are written last).
	sm = fresh()
	sm.FailPuts("k")
	if err := targets.Save(context.Background(), sm, creds); err == nil {
		t.Fatalf("Save(key write fails) error = nil, want an error")
	}
	if ok, _ := targets.Configured(context.Background(), sm); ok {
		t.Errorf("Configured(after a failed Save) = true, want false so that registration can be retried")
	}
	// Unreadable secrets: report configured with the error (fail closed).
	if ok, err := (Secrets{PrivateKeyARN: "k", RegistrationARN: "missing"}).Configured(context.Background(), fresh()); !ok || err == nil {
		t.Errorf("Configured(unreadable) = %v, %v, want true and an error", ok, err)
	}
	if err := (Secrets{PrivateKeyARN: "k"}).Save(context.Background(), fresh(), creds); err == nil {
		t.Errorf("Save(incomplete targets) error = nil, want an error")
	}
	missing := creds
	missing.WebhookSecret = ""
	if err := targets.Save(context.Background(), fresh(), missing); err == nil {
		t.Errorf("Save(no webhook secret) error = nil, want an error")
	}
	if IsPEM(placeholder) || !IsPEM(pemKey) {
		t.Errorf("IsPEM(placeholder) = %v, IsPEM(key) = %v, want false, true", IsPEM(placeholder), IsPEM(pemKey))
	}
}

func TestRenderPages(t *testing.T) {
	m, err := ForDeployment("https://api.example.com", `Repo"Trackr <b>`)
	if err != nil {
		t.Fatal(err)
	}
	page, err := RenderRegisterPage(RegisterPageData{Action: "https://github.com/settings/apps/new?state=a.b.c", Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	body := string(page)
	if strings.Contains(body, "<b>") {
		t.Errorf("register page holds the unescaped name: %s", body)
	}
	in := regexp.MustCompile(`name="manifest" value="([^"]+)"`).FindStringSubmatch(body)
	if in == nil {
		t.Fatalf("register page lacks the manifest input: %s", body)
	}
	var back Manifest
	if err := json.Unmarshal([]byte(html.UnescapeString(in[1])), &back); err != nil || back.Name != m.Name || back.HookAttributes.URL != m.HookAttributes.URL {
		t.Errorf("manifest in the form = %+v, %v, want %+v", back, err, m)
	}
	if !strings.Contains(body, `action="https://github.com/settings/apps/new?state=a.b.c"`) {
		t.Errorf("register page form action wrong: %s", body)
	}
	done, err := RenderRegisteredPage(RegisteredPageData{Name: "RepoTrackr", Slug: "repotrackr", ClientID: "Iv1.x", AppID: 42, InstallURL: "https://github.com/apps/repotrackr/installations/new"})
	if err != nil || !strings.Contains(string(done), "GitHubAppId=42") || !strings.Contains(string(done), "installations/new") ||
		!strings.Contains(string(done), "no second\ndeployment is needed") {
		t.Errorf("registered page = %s, %v, want the parameters, the install link and no call for a second deployment", done, err)
	}
}
