package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
)

// InstallApp links the token's user to the App's installation by the App's own flow, as
// a browser goes through it: the API's install start gives the installation page (with a
// signed state); the page (the sandbox here) sends the browser to the front end's page,
// the stack's relay (RelayPath), with GitHub's query; the relay page's script calls the
// API's callback with that query and the user's bearer token, and the API links the
// installation only for the user the state was issued to. This client runs no script:
// it loads the relay page and then makes the script's call itself.
func (c *Client) InstallApp(ctx context.Context) error {
	var start struct {
		URL string `json:"url"`
	}
	if err := c.Do(ctx, http.MethodGet, "/auth/github/install/start", nil, &start); err != nil {
		return err
	}
	if start.URL == "" {
		return errors.New("install start gave no url")
	}
	browser := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	loc, err := redirectOf(ctx, browser, start.URL)
	if err != nil {
		return fmt.Errorf("installation page: %w", err)
	}
	relay, err := url.Parse(loc)
	if err != nil || !strings.HasPrefix(loc, c.BaseURL+RelayPath+"?") {
		where, _, _ := strings.Cut(loc, "?")
		return fmt.Errorf("installation page sent the browser to %s, not to this stack's relay page %s", where, c.BaseURL+RelayPath)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc, nil)
	if err != nil {
		return err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return fmt.Errorf("relay page: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return fmt.Errorf("relay page answered %d %s, want 200 text/html", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out struct {
		Status         string `json:"status"`
		InstallationID int64  `json:"installation_id"`
	}
	err = c.Do(ctx, http.MethodGet, "/auth/github/install?"+relay.RawQuery, nil, &out)
	var ae *APIError
	if errors.As(err, &ae) {
		// Not ae itself: its path holds the state and the OAuth code.
		return fmt.Errorf("install callback answered %d: %s", ae.Status, strings.TrimSpace(ae.Body))
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL and its code
		}
		return fmt.Errorf("install callback: %w", err)
	}
	if out.Status != "success" {
		return fmt.Errorf("install callback answered status %q, want success", out.Status)
	}
	return nil
}

func redirectOf(ctx context.Context, client *http.Client, target string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 3 {
		return "", fmt.Errorf("answered %d, want a redirect", resp.StatusCode)
	}
	loc, err := resp.Location()
	if err != nil {
		return "", err
	}
	return loc.String(), nil
}

// Project is what the API shows of a project (the fields the demo and tests read).
type Project struct {
	ID             string          `json:"id"`
	Repo           string          `json:"repo"`
	PlanPath       string          `json:"plan_path"`
	Status         string          `json:"status"`
	StatusError    string          `json:"status_error,omitempty"`
	LastUpdated    time.Time       `json:"last_updated"`
	LatestSnapshot *store.Snapshot `json:"latest_snapshot"`
}

// EnsureProject returns the user's project of repo, registering it when there is none.
func (c *Client) EnsureProject(ctx context.Context, repo, planPath string) (*Project, bool, error) {
	projects, err := c.Projects(ctx)
	if err != nil {
		return nil, false, err
	}
	for _, p := range projects {
		if strings.EqualFold(p.Repo, repo) {
			return &p, false, nil
		}
	}
	var p Project
	if err := c.Do(ctx, http.MethodPost, "/projects", map[string]string{"repo": repo, "plan_path": planPath}, &p); err != nil {
		return nil, false, err
	}
	if p.ID == "" {
		return nil, false, errors.New("POST /projects answered no project id")
	}
	return &p, true, nil
}

// Projects lists the user's projects.
func (c *Client) Projects(ctx context.Context) ([]Project, error) {
	var out struct {
		Projects []Project `json:"projects"`
	}
	if err := c.Do(ctx, http.MethodGet, "/projects", nil, &out); err != nil {
		return nil, err
	}
	return out.Projects, nil
}

// Project reads one project.
func (c *Client) Project(ctx context.Context, id string) (*Project, error) {
	var p Project
	if err := c.Do(ctx, http.MethodGet, "/projects/"+url.PathEscape(id), nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// WaitProject reads the project until done says so or wait passes.
func (c *Client) WaitProject(ctx context.Context, id string, wait time.Duration, done func(*Project) bool) (*Project, error) {
	deadline := time.Now().Add(wait)
	for {
		p, err := c.Project(ctx, id)
		if err == nil && done(p) {
			return p, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, err
			}
			return p, fmt.Errorf("project %s not updated after %s (status %s)", id, wait, p.Status)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
