package ghapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// oauthAnswer is GitHub's answer to the code exchange: a token or an error.
type oauthAnswer struct {
	AccessToken           string `json:"access_token"`
	TokenType             string `json:"token_type"`
	Scope                 string `json:"scope"`
	ExpiresIn             int64  `json:"expires_in"`
	RefreshToken          string `json:"refresh_token"`
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in"`
	Error                 string `json:"error"`
}

// ExchangeCode trades an OAuth code (from the setup URL or the OAuth callback) for a
// user access token: POST {WebURL}login/oauth/access_token. An unknown, expired or used
// code is ErrBadCode; wrong client credentials are ErrUnauthorized. The exchange is
// retried only where GitHub cannot have consumed the code (see writePolicy).
func (c *Client) ExchangeCode(ctx context.Context, code string) (UserToken, error) {
	if code == "" {
		err := fmt.Errorf("exchange code: %w: empty code", ErrBadCode)
		c.audit(ctx, "oauth_code_exchanged", 0, "", err)
		return UserToken{}, err
	}
	if c.cfg.ClientID == "" || c.cfg.ClientSecret == "" {
		return UserToken{}, errors.New("exchange code: OAuth client id and secret are not configured")
	}
	form := url.Values{"client_id": {c.cfg.ClientID}, "client_secret": {c.cfg.ClientSecret}, "code": {code}}
	endpoint := c.webBase.ResolveReference(&url.URL{Path: "login/oauth/access_token"}).String()
	var ans oauthAnswer
	err := c.retry(ctx, opOAuth, writePolicy, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := c.plain.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return statusError(opOAuth, resp, body, c.now())
		}
		ans = oauthAnswer{}
		if err := json.Unmarshal(body, &ans); err != nil {
			return &APIError{Op: opOAuth, Status: resp.StatusCode, Message: "answer is not JSON", cause: err}
		}
		return nil
	})
	switch {
	case err != nil:
	case ans.Error == "bad_verification_code":
		err = ErrBadCode
	case ans.Error == "incorrect_client_credentials":
		err = fmt.Errorf("%w: incorrect OAuth client credentials", ErrUnauthorized)
	case ans.Error != "":
		err = fmt.Errorf("github oauth error %q", ans.Error)
	case ans.AccessToken == "":
		err = errors.New("github oauth answer has no access token")
	}
	if err != nil {
		err = fmt.Errorf("exchange code: %w", err)
		c.audit(ctx, "oauth_code_exchanged", 0, "", err)
		return UserToken{}, err
	}
	now := c.now()
	tok := UserToken{AccessToken: ans.AccessToken, TokenType: ans.TokenType, Scope: ans.Scope, RefreshToken: ans.RefreshToken}
	if ans.ExpiresIn > 0 {
		tok.ExpiresAt = now.Add(time.Duration(ans.ExpiresIn) * time.Second)
	}
	if ans.RefreshTokenExpiresIn > 0 {
		tok.RefreshTokenExpiresAt = now.Add(time.Duration(ans.RefreshTokenExpiresIn) * time.Second)
	}
	c.audit(ctx, "oauth_code_exchanged", 0, "", nil)
	return tok, nil
}

// User returns the login and id of the user a user token belongs to.
func (c *Client) User(ctx context.Context, userToken string) (login string, id int64, err error) {
	gh := c.userClient(userToken)
	var u *github.User
	err = c.retry(ctx, opUser, readPolicy, func(ctx context.Context) error {
		var err error
		u, _, err = gh.Users.Get(ctx, "")
		return err
	})
	if err != nil {
		return "", 0, fmt.Errorf("authenticated user: %w", err)
	}
	return u.GetLogin(), u.GetID(), nil
}

func installationOf(in *github.Installation) Installation {
	out := Installation{
		ID:                  in.GetID(),
		AppID:               in.GetAppID(),
		AccountLogin:        in.GetAccount().GetLogin(),
		AccountType:         in.GetAccount().GetType(),
		AccountID:           in.GetAccount().GetID(),
		RepositorySelection: in.GetRepositorySelection(),
		HTMLURL:             in.GetHTMLURL(),
	}
	if in.SuspendedAt != nil {
		t := in.SuspendedAt.UTC()
		out.SuspendedAt = &t
	}
	return out
}

// UserInstallations lists the App's installations the user of userToken can access (all
// pages): GET /user/installations.
func (c *Client) UserInstallations(ctx context.Context, userToken string) ([]Installation, error) {
	return c.listInstallations(ctx, opUserInstallations, "user_installations_listed", "user installations", c.userClient(userToken).Apps.ListUserInstallations)
}

// UserInstallation returns the installation if the user of userToken can access it and
// ErrNoAccess otherwise. The setup URL's installation_id can be forged, so the install
// callback must check it this way.
func (c *Client) UserInstallation(ctx context.Context, userToken string, installationID int64) (Installation, error) {
	list, err := c.UserInstallations(ctx, userToken)
	if err != nil {
		return Installation{}, err
	}
	for _, in := range list {
		if in.ID == installationID {
			c.audit(ctx, "user_installation_checked", installationID, "", nil)
			return in, nil
		}
	}
	err = fmt.Errorf("%w: user cannot access installation %d", ErrNoAccess, installationID)
	c.audit(ctx, "user_installation_checked", installationID, "", err)
	return Installation{}, err
}

// UserInstallationRepositories lists the repositories of an installation that the user
// of userToken can access (all pages); ErrNoAccess when the user cannot access it.
func (c *Client) UserInstallationRepositories(ctx context.Context, userToken string, installationID int64) ([]Repository, error) {
	gh := c.userClient(userToken)
	out, err := allPages(ctx, func(ctx context.Context, opts *github.ListOptions) ([]Repository, *github.Response, error) {
		var page *github.ListRepositories
		var resp *github.Response
		err := c.retry(ctx, opUserInstRepos, readPolicy, func(ctx context.Context) error {
			var err error
			page, resp, err = gh.Apps.ListUserRepos(ctx, installationID, opts)
			return err
		})
		return repositoriesOf(page), resp, err
	})
	if err != nil {
		var e *APIError
		if errors.As(err, &e) && (e.Status == http.StatusNotFound || e.Status == http.StatusForbidden) && !e.Retryable {
			e.kind = ErrNoAccess
		}
		return nil, fmt.Errorf("user repositories of installation %d: %w", installationID, err)
	}
	return out, nil
}
