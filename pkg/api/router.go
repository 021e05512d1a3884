package api

import (
	"context"
	"maps"
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
	handle handler
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

// handler answers one matched request.
type handler = func(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error)

// methods are the handlers of a path by HTTP method.
type methods map[string]handler

// routeTable lists the API's paths with the methods each answers. Every route sits
// behind the JWT authorizer, and its handler gets the caller, unless its path is public:
// closed unless said otherwise.
func (a *API) routeTable() []route {
	paths := []struct {
		pattern string
		public  bool
		methods methods
	}{
		{pattern: pathAppRegister, public: true, methods: methods{http.MethodGet: a.appRegister}},
		{pattern: pathAppRegistered, public: true, methods: methods{http.MethodGet: a.appRegistered}},
		{pattern: pathInstallStart, methods: methods{http.MethodGet: a.installStart}},
		// The callback links an installation to the caller: only the user the state was
		// issued to, signed in, may complete it (the front end relays GitHub's redirect
		// with the user's token).
		{pattern: pathInstall, methods: methods{http.MethodGet: a.installCallback, http.MethodPost: a.installCallback}},
		{pattern: pathInstallations, methods: methods{http.MethodGet: a.installations}},
		{pattern: pathProjects, methods: methods{http.MethodGet: a.listProjects, http.MethodPost: a.createProject}},
		{pattern: pathProject, methods: methods{http.MethodGet: a.getProject, http.MethodDelete: a.deleteProject}},
		{pattern: pathSnapshots, methods: methods{http.MethodGet: a.listSnapshots}},
		{pattern: pathUpdates, methods: methods{http.MethodGet: a.listUpdates}},
		{pattern: pathEvents, methods: methods{http.MethodGet: a.history}},
		{pattern: pathEventStats, methods: methods{http.MethodGet: a.history}},
	}
	var rts []route
	for _, p := range paths {
		for _, m := range slices.Sorted(maps.Keys(p.methods)) {
			rts = append(rts, route{method: m, pattern: p.pattern, segs: splitPath(p.pattern), auth: !p.public, handle: p.methods[m]})
		}
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
