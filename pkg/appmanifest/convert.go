package appmanifest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"

	"github.com/repotrackr/github-integration/pkg/ghapp"
)

// Converter trades a manifest code for the new App's credentials:
// POST /app-manifests/{code}/conversions, which needs no credentials. It exists apart
// from ghapp.Client because that client needs the App's id and key, which are exactly
// what the manifest flow has not got yet.
type Converter struct {
	gh *github.Client
}

// NewConverter returns a Converter for the REST base URL apiURL (empty:
// https://api.github.com/). hc may be nil.
func NewConverter(apiURL string, hc *http.Client) (*Converter, error) {
	if apiURL == "" {
		apiURL = ghapp.DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimSuffix(apiURL, "/") + "/")
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("GitHub API URL %q is not an absolute http(s) URL", apiURL)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 20 * time.Second}
	}
	gh := github.NewClient(hc)
	// Set directly: WithEnterpriseURLs would append api/v3/ to a sandbox URL.
	gh.BaseURL = base
	return &Converter{gh: gh}, nil
}

// ConvertManifest returns the credentials of the App created from a manifest. A code
// that is unknown, used or older than an hour is ghapp.ErrBadCode. The call is not
// retried: a code is single-use, and a retry after GitHub consumed it could only fail.
func (c *Converter) ConvertManifest(ctx context.Context, code string) (ghapp.AppCredentials, error) {
	if code == "" {
		return ghapp.AppCredentials{}, fmt.Errorf("convert manifest: %w: empty code", ghapp.ErrBadCode)
	}
	cfg, resp, err := c.gh.Apps.CompleteAppManifest(ctx, url.PathEscape(code))
	if err != nil {
		var er *github.ErrorResponse
		if errors.As(err, &er) && resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusUnprocessableEntity) {
			return ghapp.AppCredentials{}, fmt.Errorf("convert manifest: %w (status %d)", ghapp.ErrBadCode, resp.StatusCode)
		}
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		// go-github's error text holds the request URL, and with it the code.
		return ghapp.AppCredentials{}, fmt.Errorf("convert manifest: github answered status %d", status)
	}
	creds := ghapp.AppCredentials{
		ID:            cfg.GetID(),
		Slug:          cfg.GetSlug(),
		Name:          cfg.GetName(),
		OwnerLogin:    cfg.GetOwner().GetLogin(),
		HTMLURL:       cfg.GetHTMLURL(),
		PEM:           []byte(cfg.GetPEM()),
		WebhookSecret: cfg.GetWebhookSecret(),
		ClientID:      cfg.GetClientID(),
		ClientSecret:  cfg.GetClientSecret(),
	}
	if creds.ID == 0 || len(creds.PEM) == 0 || creds.ClientID == "" {
		return ghapp.AppCredentials{}, errors.New("convert manifest: GitHub's answer lacks the App id, key or client id")
	}
	return creds, nil
}
