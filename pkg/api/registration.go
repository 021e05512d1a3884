package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
)

// The App registration routes are public (GitHub sends a browser to them), so the
// manifest flow is guarded by a one-time registration token only the deployer can read
// (a Secrets Manager secret the template generates; .devstack/registration-token
// locally). The operator opens /github/app/register?token=… once: the token is checked
// in constant time and traded for a short-lived HttpOnly, Secure, SameSite=Lax cookie
// holding a MAC keyed by the token (never the token itself), and the browser is sent
// on to the same page without the token in its URL, so it stays out of the history, the
// Referer sent to GitHub and any access log. Both the page and GitHub's redirect back
// to /github/app/registered need that cookie; SameSite=Lax still sends it on GitHub's
// top-level redirect.

// MinRegistrationTokenLen is the shortest accepted registration token, in bytes.
const MinRegistrationTokenLen = 32

// registrationCookie names the cookie that carries the proof of the token.
const registrationCookie = "repotrackr_app_registration"

// registrationCookiePath covers both registration routes and nothing else.
const registrationCookiePath = "/github/app/"

var (
	errNoRegistrationToken = httpapi.Fail(http.StatusServiceUnavailable,
		"App registration is closed: no registration token is configured", nil)
	// 403 rather than 401: the token is no HTTP authentication scheme (no
	// WWW-Authenticate challenge to offer).
	errRegistrationTokenMissing = httpapi.Fail(http.StatusForbidden,
		"App registration needs the registration token: open this page with ?token= (the stack output names the secret)", nil)
	errRegistrationTokenWrong = httpapi.Fail(http.StatusForbidden, "registration token invalid or expired", nil)
)

// sameToken compares two tokens in constant time (hashing first hides the length too).
func sameToken(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return hmac.Equal(ha[:], hb[:])
}

// registrationProof is the cookie value for a session ending at exp: "<exp>.<mac>",
// the MAC keyed by the registration token.
func registrationProof(token string, exp int64) string {
	m := hmac.New(sha256.New, []byte(token))
	fmt.Fprintf(m, "repotrackr-app-registration/v1\x00%d", exp)
	return strconv.FormatInt(exp, 10) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// registrationSession reports whether the request carries a live proof of the token.
func (a *API) registrationSession(r *request) bool {
	for _, raw := range requestCookies(r.req) {
		name, value, ok := strings.Cut(strings.TrimSpace(raw), "=")
		if !ok || name != registrationCookie {
			continue
		}
		expText, _, _ := strings.Cut(value, ".")
		exp, err := strconv.ParseInt(expText, 10, 64)
		if err != nil || !a.now().Before(time.Unix(exp, 0)) {
			continue
		}
		if sameToken(value, registrationProof(a.cfg.RegistrationToken, exp)) {
			return true
		}
	}
	return false
}

// requestCookies are the request's cookies: API Gateway's payload v2 moves the Cookie
// header into the cookies field; a plain header is read too (sample events).
func requestCookies(req *events.APIGatewayV2HTTPRequest) []string {
	out := append([]string(nil), req.Cookies...)
	if h := httpapi.Header(req, "Cookie"); h != "" {
		out = append(out, strings.Split(h, ";")...)
	}
	return out
}

// checkRegistrationToken guards the registration routes. It returns a redirect when the
// request presented a valid ?token= (to be answered as it is), nil when the request
// carries a valid session cookie, and a refusal otherwise. The token is never logged.
func (a *API) checkRegistrationToken(ctx context.Context, r *request) (*events.APIGatewayV2HTTPResponse, error) {
	if a.cfg.RegistrationToken == "" {
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", "no registration token configured"))
		return nil, errNoRegistrationToken
	}
	given, err := r.query("token")
	if err != nil {
		return nil, err
	}
	if given == "" {
		if a.registrationSession(r) {
			return nil, nil
		}
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", "no registration token"))
		return nil, errRegistrationTokenMissing
	}
	if !sameToken(given, a.cfg.RegistrationToken) {
		a.audit(ctx, "app_registration_refused", "", "refused", slog.String("reason", "wrong registration token"))
		return nil, errRegistrationTokenWrong
	}
	// Trade the token for the cookie and drop it from the URL.
	q, _ := url.ParseQuery(r.req.RawQueryString)
	if len(q) == 0 {
		q = url.Values{}
		for k, v := range r.req.QueryStringParameters {
			q.Set(k, v)
		}
	}
	q.Del("token")
	// Behind a custom domain with a base path, PublicBaseURL holds that path: the
	// browser's URL and the cookie's path both need it.
	prefix := ""
	if u, err := url.Parse(a.cfg.PublicBaseURL); err == nil && a.cfg.PublicBaseURL != "" {
		prefix = strings.TrimSuffix(u.Path, "/")
	}
	loc := prefix + requestPath(r.req)
	if enc := q.Encode(); enc != "" {
		loc += "?" + enc
	}
	exp := a.now().Add(a.cfg.ManifestStateTTL).Unix()
	cookie := (&http.Cookie{
		Name: registrationCookie, Value: registrationProof(a.cfg.RegistrationToken, exp), Path: prefix + registrationCookiePath,
		MaxAge: int(a.cfg.ManifestStateTTL / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}).String()
	a.audit(ctx, "app_registration_token_accepted", "", "ok")
	return &events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusSeeOther,
		Headers: map[string]string{
			"Location": loc, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		},
		Cookies: []string{cookie},
	}, nil
}
