package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
)

// Paths of the routes (template.yaml declares the same).
const (
	pathAppRegister        = "/github/app/register"
	pathAppRegistered      = "/github/app/registered"
	pathInstallStart       = "/auth/github/install/start"
	pathInstall            = "/auth/github/install"
	pathInstallations      = "/auth/github/installations"
	pathProjects           = "/projects"
	pathProject            = "/projects/{id}"
	pathSnapshots          = "/projects/{id}/snapshots"
	pathUpdates            = "/projects/{id}/updates"
	pathEvents             = "/webhooks/github/events"
	pathEventStats         = "/webhooks/github/events/stats"
	paramProjectID         = "id"
	reasonRouteNotFound    = "route not found"
	reasonMethodNotAllowed = "method not allowed"
)

// route is one method and path pattern; a segment "{name}" matches any one segment.
type route struct {
	method  string
	pattern string
	segs    []string
	// auth: the route sits behind the JWT authorizer, and the handler needs the caller.
	auth   bool
	handle func(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error)
}

// Route describes one route of the API, for documentation and for checking the
// template against the router.
type Route struct {
	Method, Path  string
	Authenticated bool
}

// Routes lists the API's routes.
func (a *API) Routes() []Route {
	out := make([]Route, 0, len(a.routes))
	for _, rt := range a.routes {
		out = append(out, Route{Method: rt.method, Path: rt.pattern, Authenticated: rt.auth})
	}
	return out
}

func (a *API) routeTable() []route {
	rts := []route{
		{method: http.MethodGet, pattern: pathAppRegister, handle: a.appRegister},
		{method: http.MethodGet, pattern: pathAppRegistered, handle: a.appRegistered},
		{method: http.MethodGet, pattern: pathInstallStart, auth: true, handle: a.installStart},
		// The callback links an installation to the caller: only the user the state was
		// issued to, signed in, may complete it (the front end relays GitHub's redirect
		// with the user's token).
		{method: http.MethodGet, pattern: pathInstall, auth: true, handle: a.installCallback},
		{method: http.MethodPost, pattern: pathInstall, auth: true, handle: a.installCallback},
		{method: http.MethodGet, pattern: pathInstallations, auth: true, handle: a.installations},
		{method: http.MethodPost, pattern: pathProjects, auth: true, handle: a.createProject},
		{method: http.MethodGet, pattern: pathProjects, auth: true, handle: a.listProjects},
		{method: http.MethodGet, pattern: pathProject, auth: true, handle: a.getProject},
		{method: http.MethodDelete, pattern: pathProject, auth: true, handle: a.deleteProject},
		{method: http.MethodGet, pattern: pathSnapshots, auth: true, handle: a.listSnapshots},
		{method: http.MethodGet, pattern: pathUpdates, auth: true, handle: a.listUpdates},
		{method: http.MethodGet, pattern: pathEvents, auth: true, handle: a.history},
		{method: http.MethodGet, pattern: pathEventStats, auth: true, handle: a.history},
	}
	for i := range rts {
		rts[i].segs = splitPath(rts[i].pattern)
	}
	return rts
}

// methodError is a 405 that knows the methods the path allows.
type methodError struct {
	allowed []string
}

func (e *methodError) Error() string { return "405 method not allowed" }

// match finds the route of method and path: 404 when no pattern matches the path, 405
// (with the allowed methods) when one does for another method.
func (a *API) match(method, path string) (route, map[string]string, error) {
	segs := splitPath(path)
	var allowed []string
	for _, rt := range a.routes {
		params, ok := matchSegments(rt.segs, segs)
		if !ok {
			continue
		}
		if rt.method == method {
			return rt, params, nil
		}
		allowed = append(allowed, rt.method)
	}
	if len(allowed) > 0 {
		slices.Sort(allowed)
		return route{}, nil, httpapi.Fail(http.StatusMethodNotAllowed, reasonMethodNotAllowed, &methodError{allowed: slices.Compact(allowed)})
	}
	return route{}, nil, httpapi.Fail(http.StatusNotFound, reasonRouteNotFound, nil)
}

// splitPath splits a path into segments, ignoring a trailing slash.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func matchSegments(pattern, path []string) (map[string]string, bool) {
	if len(pattern) != len(path) {
		return nil, false
	}
	var params map[string]string
	for i, ps := range pattern {
		if strings.HasPrefix(ps, "{") && strings.HasSuffix(ps, "}") {
			if path[i] == "" {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[ps[1:len(ps)-1]] = path[i]
			continue
		}
		if ps != path[i] {
			return nil, false
		}
	}
	return params, true
}
