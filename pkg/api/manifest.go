package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/appmanifest"
	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/httpapi"
)

var (
	errRegistrationUnavailable = httpapi.Fail(http.StatusServiceUnavailable,
		"App registration is not available in this deployment (no Secrets Manager secrets to store the App in)", nil)
	errAppAlreadyConfigured = httpapi.Fail(http.StatusConflict, "a GitHub App is already configured; registration is closed", nil)
	errNoInstallPage        = httpapi.Fail(http.StatusServiceUnavailable,
		"the front end's installation page (InstallSetupUrl) is not configured; GitHub's redirect after an installation needs it", nil)
)

// registrationOpen says whether the manifest flow may run: only while no App is
// configured, and when the answer cannot be found out, not (fail closed).
func (a *API) registrationOpen(ctx context.Context) error {
	if a.cfg.Converter == nil || a.cfg.Secrets == nil || !a.cfg.SecretTargets.Complete() {
		return errRegistrationUnavailable
	}
	if a.cfg.AppConfigured {
		return errAppAlreadyConfigured
	}
	configured, err := a.cfg.SecretTargets.Configured(ctx, a.cfg.Secrets)
	if err != nil {
		return httpapi.Fail(http.StatusServiceUnavailable, "cannot tell whether a GitHub App is configured", err)
	}
	if configured {
		return errAppAlreadyConfigured
	}
	return nil
}

// appRegister serves the page that posts the App manifest to GitHub (the manifest flow).
// ?org= registers the App under an organization.
func (a *API) appRegister(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	if redirect, err := a.checkRegistrationToken(ctx, r); err != nil || redirect != nil {
		if redirect != nil {
			return *redirect, nil
		}
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := a.registrationOpen(ctx); err != nil {
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", reasonOf(err)))
		return events.APIGatewayV2HTTPResponse{}, err
	}
	org, err := r.query("org")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	// Check the organization before a state is stored for nothing.
	if _, err := appmanifest.NewAppURL(a.web.String(), org, "x"); err != nil {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "org is not a GitHub organization name", err)
	}
	m, err := appmanifest.ForDeployment(a.publicBaseURL(r), a.cfg.AppName)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if m, err = m.WithInstallPage(a.cfg.InstallSetupURL); err != nil {
		return events.APIGatewayV2HTTPResponse{}, errNoInstallPage
	}
	state, _, err := a.issueState(ctx, purposeManifest, manifestStateUser, a.cfg.ManifestStateTTL)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	action, err := appmanifest.NewAppURL(a.web.String(), org, state)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	page, err := appmanifest.RenderRegisterPage(appmanifest.RegisterPageData{Action: action, Org: org, Manifest: m})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return htmlResponse(http.StatusOK, page, a.webOrigin()), nil
}

// appRegistered is the manifest's redirect_url: GitHub sends the browser back with a
// code, which becomes the App's credentials, stored in Secrets Manager.
func (a *API) appRegistered(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	// The same operator's browser must come back: the state alone could have leaked
	// (it travels through GitHub's URLs).
	if redirect, err := a.checkRegistrationToken(ctx, r); err != nil || redirect != nil {
		if redirect != nil {
			return *redirect, nil
		}
		return events.APIGatewayV2HTTPResponse{}, err
	}
	token, err := r.query("state")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	code, err := r.query("code")
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if _, err := a.consumeState(ctx, purposeManifest, token); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := a.registrationOpen(ctx); err != nil {
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", reasonOf(err)))
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if code == "" {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "missing code", nil)
	}
	creds, err := a.cfg.Converter.ConvertManifest(ctx, code)
	if errors.Is(err, ghapp.ErrBadCode) {
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", "bad code"))
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "manifest code invalid, expired or already used", err)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, githubFailure("convert manifest", err)
	}
	if err := a.cfg.SecretTargets.Save(ctx, a.cfg.Secrets, creds); err != nil {
		a.audit(ctx, "app_registration_failed", "", "error", slog.Int64("app_id", creds.ID), slog.String("slug", creds.Slug))
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusInternalServerError,
			"the App was created on GitHub but its credentials could not be stored; store them by hand (see the README)", err)
	}
	a.audit(ctx, "app_registered", "", "ok", slog.Int64("app_id", creds.ID), slog.String("slug", creds.Slug), slog.String("owner", creds.OwnerLogin))
	installURL := strings.TrimSuffix(creds.HTMLURL, "/") + "/installations/new"
	if creds.HTMLURL == "" {
		installURL = a.web.ResolveReference(&url.URL{Path: "apps/" + creds.Slug + "/installations/new"}).String()
	}
	if wantsHTML(r.req) {
		page, err := appmanifest.RenderRegisteredPage(appmanifest.RegisteredPageData{
			Name: creds.Name, Slug: creds.Slug, ClientID: creds.ClientID, AppID: creds.ID, InstallURL: installURL,
		})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		return htmlResponse(http.StatusOK, page, ""), nil
	}
	return httpapi.JSON(http.StatusOK, map[string]any{
		"status": "registered", "app_id": creds.ID, "slug": creds.Slug, "name": creds.Name,
		"client_id": creds.ClientID, "html_url": creds.HTMLURL, "install_url": installURL,
	}), nil
}

// publicBaseURL is where GitHub reaches this API: PublicBaseURL, or the host the
// request came to (API Gateway's domain name), over https unless the request says
// otherwise (the local gateway).
func (a *API) publicBaseURL(r *request) string {
	if a.cfg.PublicBaseURL != "" {
		return a.cfg.PublicBaseURL
	}
	host := r.req.RequestContext.DomainName
	if host == "" {
		host = httpapi.Header(r.req, "Host")
	}
	scheme := "https"
	if p := httpapi.Header(r.req, "X-Forwarded-Proto"); p == "http" {
		scheme = "http"
	}
	return scheme + "://" + host
}

// webOrigin is GitHub's web origin, the only place the register page's form posts to.
func (a *API) webOrigin() string {
	return a.web.Scheme + "://" + a.web.Host
}

func reasonOf(err error) string {
	_, reason := httpapi.StatusOf(err)
	return reason
}
