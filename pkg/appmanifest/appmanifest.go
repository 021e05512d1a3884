package appmanifest

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

//go:embed manifest.json
var manifestJSON []byte

// Manifest is a GitHub App manifest
// (https://docs.github.com/apps/sharing-github-apps/registering-a-github-app-from-a-manifest).
type Manifest struct {
	Name                  string            `json:"name"`
	Description           string            `json:"description,omitempty"`
	URL                   string            `json:"url"`
	HookAttributes        HookAttributes    `json:"hook_attributes"`
	RedirectURL           string            `json:"redirect_url"`
	CallbackURLs          []string          `json:"callback_urls"`
	SetupURL              string            `json:"setup_url"`
	SetupOnUpdate         bool              `json:"setup_on_update"`
	RequestOAuthOnInstall bool              `json:"request_oauth_on_install"`
	Public                bool              `json:"public"`
	DefaultPermissions    map[string]string `json:"default_permissions"`
	DefaultEvents         []string          `json:"default_events"`
}

// HookAttributes is the manifest's webhook.
type HookAttributes struct {
	URL    string `json:"url"`
	Active bool   `json:"active"`
}

// Definition returns the App definition as written in manifest.json: its URLs are paths,
// relative to the deployment's base URL.
func Definition() (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(manifestJSON, &m); err != nil {
		return Manifest{}, fmt.Errorf("parse embedded manifest.json: %w", err)
	}
	return m, nil
}

// ForDeployment returns the definition with every URL resolved against base, the public
// base URL of the deployment's HTTP API (e.g. https://abc.execute-api.eu-west-1.amazonaws.com),
// and name instead of the default name when not empty.
func ForDeployment(base, name string) (Manifest, error) {
	m, err := Definition()
	if err != nil {
		return Manifest{}, err
	}
	b, err := url.Parse(strings.TrimSuffix(base, "/") + "/")
	if err != nil || (b.Scheme != "https" && b.Scheme != "http") || b.Host == "" {
		return Manifest{}, fmt.Errorf("base URL %q is not an absolute http(s) URL", base)
	}
	resolve := func(p string) string {
		ref, err := url.Parse(strings.TrimPrefix(p, "/"))
		if err != nil {
			return p
		}
		return b.ResolveReference(ref).String()
	}
	m.URL = resolve(m.URL)
	m.HookAttributes.URL = resolve(m.HookAttributes.URL)
	m.RedirectURL = resolve(m.RedirectURL)
	m.SetupURL = resolve(m.SetupURL)
	for i, u := range m.CallbackURLs {
		m.CallbackURLs[i] = resolve(u)
	}
	if name = strings.TrimSpace(name); name != "" {
		m.Name = name
	}
	return m, nil
}

// orgPattern is a GitHub organization login.
var orgPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}$`) })

// ErrInvalidOrg: the organization name is not a GitHub login.
var ErrInvalidOrg = errors.New("invalid organization name")

// NewAppURL is GitHub's page that creates an App from a posted manifest: under the
// user's account, or under organization org when not empty. state comes back with the
// code.
func NewAppURL(webURL, org, state string) (string, error) {
	w, err := url.Parse(strings.TrimSuffix(webURL, "/") + "/")
	if err != nil || w.Host == "" {
		return "", fmt.Errorf("GitHub web URL %q is not absolute", webURL)
	}
	p := "settings/apps/new"
	if org != "" {
		if !orgPattern().MatchString(org) {
			return "", fmt.Errorf("%w: %.100q", ErrInvalidOrg, org)
		}
		p = "organizations/" + org + "/settings/apps/new"
	}
	u := w.ResolveReference(&url.URL{Path: p})
	u.RawQuery = url.Values{"state": {state}}.Encode()
	return u.String(), nil
}
