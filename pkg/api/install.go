package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/store"
)

// Setup actions GitHub sends to the setup URL.
const (
	setupInstall = "install"
	setupUpdate  = "update"
	setupRequest = "request" // an organization member asked; an owner must approve
)

var (
	errAppNotConfigured   = httpapi.Fail(http.StatusServiceUnavailable, "GitHub App not configured", nil)
	errStateOfAnotherUser = httpapi.Fail(http.StatusForbidden,
		"this installation was started by another RepoTrackr user; start it again while signed in as yourself", nil)
)

// installStart answers the App's installation page URL with a fresh state bound to the
// caller.
func (a *API) installStart(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	if a.gh == nil || a.cfg.AppSlug == "" {
		return events.APIGatewayV2HTTPResponse{}, errAppNotConfigured
	}
	state, exp, err := a.issueState(ctx, purposeInstall, r.user, a.cfg.InstallStateTTL)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	u := a.web.ResolveReference(&url.URL{Path: "apps/" + a.cfg.AppSlug + "/installations/new"})
	u.RawQuery = url.Values{"state": {state}}.Encode()
	return httpapi.JSON(http.StatusOK, map[string]any{"url": u.String(), "expires_at": exp}), nil
}

// installParams is what GitHub's setup URL redirect (or a front end relaying it) brings.
type installParams struct {
	InstallationID string
	SetupAction    string
	State          string
	Code           string
}

// installCallback completes an installation: GET from GitHub's redirect to the setup
// URL, POST from a front end relaying it.
func (a *API) installCallback(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	p, err := readInstallParams(r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch p.SetupAction {
	case "", setupInstall, setupUpdate, setupRequest:
	default:
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "unknown setup_action", nil)
	}
	if p.State == "" && p.SetupAction == setupUpdate {
		// GitHub sends the browser here after someone changes an installation on
		// GitHub (setup_on_update), without a state: there is no user to link, and the
		// change itself reaches the processor as an installation event.
		a.audit(ctx, "installation_update_seen", "", "ok", slog.String("installation_id_claimed", p.InstallationID))
		msg := "Installation updated. RepoTrackr picks up repository changes from GitHub's installation events; there is nothing else to do."
		if wantsHTML(r.req) {
			return htmlResponse(http.StatusOK, renderResult("Installation updated", msg), ""), nil
		}
		return httpapi.JSON(http.StatusOK, map[string]string{"status": "updated", "message": msg}), nil
	}
	// The state comes first: without a valid one nothing else is looked at.
	st, err := a.consumeState(ctx, purposeInstall, p.State)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	user := st.UserID
	if user != r.user {
		// Someone else's start link, completed by the caller (or a relayed request of
		// another session): linking it would hand the caller's installation to the user
		// who started the flow. The state is used up either way.
		a.audit(ctx, "installation_refused", r.user, "refused", slog.String("reason", "state issued to another user"),
			slog.String("installation_id_claimed", p.InstallationID))
		return events.APIGatewayV2HTTPResponse{}, errStateOfAnotherUser
	}
	if p.SetupAction == setupRequest {
		a.audit(ctx, "installation_requested", user, "ok")
		msg := "Installation requested: an owner of the account must approve it. Once approved, start the installation again to link it."
		if wantsHTML(r.req) {
			return htmlResponse(http.StatusAccepted, renderResult("Installation requested", msg), ""), nil
		}
		return httpapi.JSON(http.StatusAccepted, map[string]string{"status": "requested", "message": msg}), nil
	}
	id, err := strconv.ParseInt(p.InstallationID, 10, 64)
	if err != nil || id <= 0 {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "missing or invalid installation_id", err)
	}
	if p.Code == "" {
		a.audit(ctx, "installation_refused", user, "refused", slog.Int64("installation_id", id), slog.String("reason", "no code"))
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest,
			"missing code: the App must request user authorization (OAuth) during installation", nil)
	}
	if a.gh == nil {
		return events.APIGatewayV2HTTPResponse{}, errAppNotConfigured
	}
	inst, gu, repos, err := a.verifyInstallation(ghapp.WithAuditUser(ctx, user), user, id, p.Code)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	names := make([]string, 0, len(repos))
	for _, rp := range repos {
		names = append(names, rp.FullName)
	}
	_, err = a.store.PutInstallation(ctx, store.Installation{
		InstallationID:      inst.ID,
		AccountLogin:        inst.AccountLogin,
		AccountType:         inst.AccountType,
		AccountID:           inst.AccountID,
		RepositorySelection: inst.RepositorySelection,
		Repositories:        names,
		Status:              store.InstallationActive,
	})
	// ErrStale: the processor stored a fresher read of this installation meanwhile.
	if err != nil && !errors.Is(err, store.ErrStale) {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("store installation %d: %w", id, err)
	}
	a.audit(ctx, "installation_stored", user, "ok", slog.Int64("installation_id", id),
		slog.String("account", inst.AccountLogin), slog.Int("repositories", len(names)))
	link := store.UserInstallation{UserID: user, InstallationID: id, GitHubLogin: gu.login, GitHubUserID: gu.id}
	if _, err := a.store.LinkUserInstallation(ctx, link); err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("link installation %d: %w", id, err)
	}
	a.audit(ctx, "installation_linked", user, "ok", slog.Int64("installation_id", id), slog.String("github_login", gu.login))

	if wantsHTML(r.req) {
		if a.cfg.InstallSuccessURL != "" {
			return redirect(a.cfg.InstallSuccessURL, url.Values{"status": {"success"}, "installation_id": {strconv.FormatInt(id, 10)}}), nil
		}
		msg := fmt.Sprintf("RepoTrackr can now read the repositories of %s that the installation covers. You can close this window.", inst.AccountLogin)
		return htmlResponse(http.StatusOK, renderResult("GitHub App installed", msg), ""), nil
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"status": "success", "installation_id": id}), nil
}

// githubUser is the GitHub account behind an OAuth code.
type githubUser struct {
	login string
	id    int64
}

// verifyInstallation never trusts installation_id alone (GitHub warns it can be
// forged): the code becomes a token of the GitHub user in the browser, and that user
// must be able to access the installation. It returns the installation, the GitHub user
// (whose permission on a repository every registration checks again) and the
// installation's repositories.
func (a *API) verifyInstallation(ctx context.Context, user string, id int64, code string) (ghapp.Installation, githubUser, []ghapp.Repository, error) {
	refuse := func(status int, reason string, err error) (ghapp.Installation, githubUser, []ghapp.Repository, error) {
		a.audit(ctx, "installation_refused", user, "refused", slog.Int64("installation_id", id), slog.String("reason", reason))
		return ghapp.Installation{}, githubUser{}, nil, httpapi.Fail(status, reason, err)
	}
	fail := func(err error) (ghapp.Installation, githubUser, []ghapp.Repository, error) {
		return ghapp.Installation{}, githubUser{}, nil, err
	}
	tok, err := a.gh.ExchangeCode(ctx, code)
	switch {
	case errors.Is(err, ghapp.ErrBadCode):
		return refuse(http.StatusBadRequest, "authorization code invalid, expired or already used", err)
	case errors.Is(err, ghapp.ErrUnauthorized):
		return fail(httpapi.Fail(http.StatusBadGateway, "GitHub refused the App's OAuth credentials", err))
	case err != nil:
		return fail(githubFailure("exchange code", err))
	}
	list, err := a.gh.UserInstallations(ctx, tok.AccessToken)
	if err != nil {
		return fail(githubFailure("user installations", err))
	}
	var inst ghapp.Installation
	found := false
	for _, in := range list {
		if in.ID == id {
			inst, found = in, true
			break
		}
	}
	if !found {
		return refuse(http.StatusForbidden, "installation not accessible to this GitHub user", nil)
	}
	if inst.SuspendedAt != nil {
		return refuse(http.StatusForbidden, "installation is suspended", nil)
	}
	// The login and id are what later registrations check the user's access by, so a
	// link is not made without them.
	login, ghID, err := a.gh.User(ctx, tok.AccessToken)
	if err != nil {
		return fail(githubFailure("authenticated user", err))
	}
	if login == "" || ghID == 0 {
		return fail(httpapi.Fail(http.StatusBadGateway, "GitHub did not name the authorizing user", nil))
	}
	repos, err := a.gh.InstallationRepositories(ctx, id)
	if errors.Is(err, ghapp.ErrNoAccess) {
		return refuse(http.StatusForbidden, "installation is suspended or removed", err)
	}
	if err != nil {
		return fail(githubFailure("installation repositories", err))
	}
	return inst, githubUser{login: login, id: ghID}, repos, nil
}

// githubFailure maps a GitHub failure no handler expected: 503 when it may pass
// (rate limits, 5xx, network), 502 otherwise.
func githubFailure(what string, err error) error {
	if ghapp.IsRetryable(err) || errors.Is(err, context.DeadlineExceeded) {
		return httpapi.Fail(http.StatusServiceUnavailable, "GitHub is unavailable; try again later", fmt.Errorf("%s: %w", what, err))
	}
	return httpapi.Fail(http.StatusBadGateway, "GitHub request failed", fmt.Errorf("%s: %w", what, err))
}

// readInstallParams reads the query (GET) or a JSON or form body (POST).
func readInstallParams(r *request) (installParams, error) {
	if requestMethod(r.req) != http.MethodPost {
		var p installParams
		var err error
		for _, f := range []struct {
			name string
			dst  *string
		}{{"installation_id", &p.InstallationID}, {"setup_action", &p.SetupAction}, {"state", &p.State}, {"code", &p.Code}} {
			if *f.dst, err = r.query(f.name); err != nil {
				return installParams{}, err
			}
		}
		return p, nil
	}
	body, err := httpapi.Body(r.req)
	if err != nil {
		return installParams{}, err
	}
	if len(body) > maxBody {
		return installParams{}, httpapi.Fail(http.StatusRequestEntityTooLarge, "body too large", nil)
	}
	ct, _, _ := mime.ParseMediaType(httpapi.Header(r.req, "Content-Type"))
	switch ct {
	case "application/json":
		var in struct {
			InstallationID json.RawMessage `json:"installation_id"`
			SetupAction    string          `json:"setup_action"`
			State          string          `json:"state"`
			Code           string          `json:"code"`
		}
		err := httpapi.StrictJSON(body)
		if err == nil {
			err = json.Unmarshal(body, &in)
		}
		if err != nil {
			return installParams{}, httpapi.Fail(http.StatusBadRequest, "body is not a JSON object with code, state and installation_id", err)
		}
		// installation_id may come as a number or a string.
		id := strings.Trim(string(in.InstallationID), `"`)
		if id == "null" {
			id = ""
		}
		return installParams{InstallationID: id, SetupAction: in.SetupAction, State: in.State, Code: in.Code}, nil
	case "application/x-www-form-urlencoded":
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return installParams{}, httpapi.Fail(http.StatusBadRequest, "malformed form body", err)
		}
		return installParams{InstallationID: f.Get("installation_id"), SetupAction: f.Get("setup_action"), State: f.Get("state"), Code: f.Get("code")}, nil
	}
	return installParams{}, httpapi.Fail(http.StatusUnsupportedMediaType, "content type must be application/json or application/x-www-form-urlencoded", nil)
}

func redirect(target string, extra url.Values) events.APIGatewayV2HTTPResponse {
	u, err := url.Parse(target)
	if err == nil {
		q := u.Query()
		for k, vs := range extra {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
		target = u.String()
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusFound,
		Headers:    map[string]string{"Location": target, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
	}
}

// installationView is one of the caller's installations.
type installationView struct {
	store.Installation
	GitHubLogin string    `json:"github_login,omitempty"`
	LinkedAt    time.Time `json:"linked_at"`
}

// installations lists the installations the caller linked, as last stored (the
// processor keeps them current from installation events).
func (a *API) installations(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	links, err := a.store.UserInstallations(ctx, r.user)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := make([]installationView, 0, len(links))
	for _, l := range links {
		in, err := a.store.GetInstallation(ctx, l.InstallationID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if in.Repositories == nil {
			in.Repositories = []string{}
		}
		out = append(out, installationView{Installation: in, GitHubLogin: l.GitHubLogin, LinkedAt: l.LinkedAt})
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"installations": out}), nil
}
