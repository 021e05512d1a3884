package api

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
	"github.com/repotrackr/github-integration/pkg/local/standin"
	"github.com/repotrackr/github-integration/pkg/store"
)

// TestSampleEvents runs every events/api sample through the router against dynalite
// and the sandbox: each is a well-formed API Gateway v2 event of a declared route, the
// authenticated ones carry JWT claims, and each gets a sensible, non-5xx answer.
func TestSampleEvents(t *testing.T) {
	root := standin.Root(t)
	files, err := filepath.Glob(filepath.Join(root, "events", "api", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("events/api/*.json = %v, %v, want sample events", files, err)
	}
	want := map[string]int{
		"app-register.json":          http.StatusSeeOther,   // the token traded for the session cookie
		"app-registered.json":        http.StatusBadRequest, // the session is good, the sample's state is not signed by this deployment
		"install-start.json":         http.StatusOK,
		"install-callback.json":      http.StatusBadRequest,
		"install-callback-post.json": http.StatusBadRequest,
		"installations.json":         http.StatusOK,
		"projects-create.json":       http.StatusForbidden, // the sample user has no installation
		"projects-list.json":         http.StatusOK,
		"project-get.json":           http.StatusNotFound,
		"project-delete.json":        http.StatusNotFound,
		"project-snapshots.json":     http.StatusNotFound,
		"project-updates.json":       http.StatusNotFound,
		"events-list.json":           http.StatusOK,
		"events-stats.json":          http.StatusOK,
	}
	// The samples carry the token and a session cookie made with it.
	e := newEnv(t, func(c *Config) { c.RegistrationToken = "sample-registration-token-0123456789abcdef" })
	covered := map[Route]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var req events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &req); err != nil {
				t.Fatalf("unmarshal %s: %v", name, err)
			}
			rt, _, err := e.api.match(requestMethod(&req), requestPath(&req))
			if err != nil {
				t.Fatalf("%s: %s %s matches no route: %v", name, requestMethod(&req), requestPath(&req), err)
			}
			if req.RouteKey != rt.method+" "+rt.pattern {
				t.Errorf("%s: routeKey = %q, want %q", name, req.RouteKey, rt.method+" "+rt.pattern)
			}
			if _, err := httpapi.Subject(&req); rt.auth && err != nil {
				t.Errorf("%s: authenticated route without JWT claims", name)
			}
			covered[Route{Method: rt.method, Path: rt.pattern, Authenticated: rt.auth}] = true
			a := doRequest(t, e.api, req)
			status, ok := want[name]
			if !ok {
				t.Fatalf("%s: no expected status in the test table", name)
			}
			if a.status != status || a.status >= 500 {
				t.Errorf("%s: status = %d %s, want %d", name, a.status, a.body, status)
			}
		})
	}
	for _, r := range e.api.Routes() {
		if !covered[r] {
			t.Errorf("route %s %s has no sample event in events/api", r.Method, r.Path)
		}
	}
}

// TestTemplateDeclaresRoutes: template.yaml gives ApiFunction exactly the router's
// routes, with the JWT authorizer on the authenticated ones and NONE on the others.
func TestTemplateDeclaresRoutes(t *testing.T) {
	tpl, err := standin.LoadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	var fn *samtemplate.Function
	for _, f := range tpl.Functions() {
		if f.LogicalID == "ApiFunction" {
			fn = &f
		}
	}
	if fn == nil {
		t.Fatal("template.yaml has no ApiFunction")
	}
	var declared []string
	for _, ev := range fn.Events {
		if ev.Type != "HttpApi" {
			continue
		}
		auth := ev.Authorizer == "BearerJwt"
		if !auth && ev.Authorizer != "NONE" {
			t.Errorf("route %s %s: Authorizer = %q, want BearerJwt or NONE", ev.Method, ev.Path, ev.Authorizer)
		}
		declared = append(declared, routeString(Route{Method: ev.Method, Path: ev.Path, Authenticated: auth}))
	}
	a, err := New(Config{Store: store.New(nil, store.Tables{})})
	if err != nil {
		t.Fatal(err)
	}
	var routed []string
	for _, r := range a.Routes() {
		routed = append(routed, routeString(r))
	}
	slices.Sort(declared)
	slices.Sort(routed)
	if strings.Join(declared, "\n") != strings.Join(routed, "\n") {
		t.Errorf("template routes:\n%s\nrouter routes:\n%s", strings.Join(declared, "\n"), strings.Join(routed, "\n"))
	}
	for _, k := range []string{"GITHUB_APP_PRIVATE_KEY_ARN", "GITHUB_CLIENT_SECRET_ARN", "STATE_SIGNING_KEY_ARN", "GITHUB_APP_REGISTRATION_ARN", "GITHUB_WEBHOOK_SECRET_ARN"} {
		if _, ok := fn.Env[k]; !ok {
			t.Errorf("ApiFunction environment lacks %s", k)
		}
	}
}

func routeString(r Route) string {
	s := r.Method + " " + r.Path
	if r.Authenticated {
		s += " (JWT)"
	}
	return s
}
