package devstack

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/local/gateway"
	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
	"github.com/repotrackr/github-integration/pkg/local/samtemplate"
)

// startGateway serves the template's HttpApi routes.
func (s *Stack) startGateway(ln net.Listener, functions []samtemplate.Function) error {
	routes, err := Routes(s.tpl, functions)
	if err != nil {
		return err
	}
	auths, err := s.authorizers()
	if err != nil {
		return err
	}
	invokers := map[string]gateway.Invoker{}
	for name, p := range s.Functions {
		invokers[name] = p
	}
	gw, err := gateway.New(gateway.Config{
		Routes:             routes,
		Functions:          invokers,
		Authorizers:        auths,
		IntegrationTimeout: s.opts.IntegrationTimeout,
		Log:                s.con.logger("http api"),
	})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: withRelay(gw), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	s.onClose("http api", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(ctx)
	})
	for _, r := range gw.Routes() {
		auth := ""
		if r.Authorizer != "" {
			auth = " (" + r.Authorizer + ")"
		}
		s.con.progress("http api: %-6s %s -> %s%s", r.Method, r.Path, r.Function, auth)
	}
	s.con.progress("front end: GET    %s (relays GitHub's redirect after an installation to the API)", RelayPath)
	return nil
}

// authorizers are the template's JWT authorizers, checking tokens of the local key.
func (s *Stack) authorizers() (map[string]*jwtauth.Authorizer, error) {
	out := map[string]*jwtauth.Authorizer{}
	for _, api := range s.tpl.HTTPAPIs() {
		for name, a := range api.Authorizers {
			iss, err := Resolve(s.tpl, a.Issuer, s.Info.Resources)
			if err != nil {
				return nil, fmt.Errorf("authorizer %s issuer: %w", name, err)
			}
			aud, err := Resolve(s.tpl, a.Audience, s.Info.Resources)
			if err != nil {
				return nil, fmt.Errorf("authorizer %s audience: %w", name, err)
			}
			out[name] = &jwtauth.Authorizer{
				Issuer:   iss,
				Audience: strings.Split(aud, ","),
				Keys:     map[string]*rsa.PublicKey{s.jwtKey.KID(): s.jwtKey.Public()},
			}
		}
	}
	return out, nil
}

// Routes are the HttpApi routes of the functions, each with its authorizer: the event's
// own, else the API's default; "NONE" means none.
func Routes(t *samtemplate.Template, functions []samtemplate.Function) ([]gateway.Route, error) {
	apis := t.HTTPAPIs()
	defaultAuth := ""
	if len(apis) == 1 {
		defaultAuth = apis[0].DefaultAuthorizer
	}
	var routes []gateway.Route
	for _, fn := range functions {
		for _, e := range fn.Events {
			if e.Type != "HttpApi" {
				continue
			}
			if e.Path == "" {
				return nil, fmt.Errorf("%s event %s: the $default route is not supported locally", fn.LogicalID, e.Name)
			}
			method := e.Method
			if method == "*" || method == "" {
				method = "ANY"
			}
			auth := e.Authorizer
			if auth == "" {
				auth = defaultAuth
			}
			if auth == "NONE" {
				auth = ""
			}
			routes = append(routes, gateway.Route{Method: method, Path: e.Path, Authorizer: auth, Scopes: e.Scopes, Function: fn.Name})
		}
	}
	sort.Slice(routes, func(i, j int) bool {
		if routes[i].Path != routes[j].Path {
			return routes[i].Path < routes[j].Path
		}
		return routes[i].Method < routes[j].Method
	})
	return routes, nil
}
