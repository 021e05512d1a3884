package gateway

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Route sends requests matching Method and Path to Function.
type Route struct {
	// Method is an HTTP method in upper case, or "ANY".
	Method string
	// Path is an API Gateway route path: literal segments, {name} for one segment and a
	// final {name+} for the rest of the path.
	Path string
	// Authorizer names a JWT authorizer of the gateway; empty for none.
	Authorizer string
	// Scopes, when not empty, are the authorization scopes of which a token needs one.
	Scopes []string
	// Function names the function that serves the route.
	Function string
}

// Key is the route key as API Gateway writes it: "POST /webhooks/github".
func (r Route) Key() string { return r.Method + " " + r.Path }

type segment struct {
	literal string
	param   string // non-empty for {param} and {param+}
	greedy  bool
}

type compiled struct {
	Route
	segs []segment
}

func compile(r Route) (compiled, error) {
	if !strings.HasPrefix(r.Path, "/") {
		return compiled{}, fmt.Errorf("route %s: path must start with /", r.Key())
	}
	c := compiled{Route: r}
	if r.Path == "/" {
		return c, nil
	}
	parts := strings.Split(strings.TrimPrefix(r.Path, "/"), "/")
	for i, p := range parts {
		switch {
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "+}"):
			if i != len(parts)-1 {
				return compiled{}, fmt.Errorf("route %s: a greedy variable must end the path", r.Key())
			}
			c.segs = append(c.segs, segment{param: p[1 : len(p)-2], greedy: true})
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			c.segs = append(c.segs, segment{param: p[1 : len(p)-1]})
		default:
			c.segs = append(c.segs, segment{literal: p})
		}
	}
	return c, nil
}

// match reports whether the request path (escaped, as sent) matches, with the path
// parameters it binds (unescaped).
func (c compiled) match(escapedPath string) (map[string]string, bool) {
	if escapedPath == "" {
		escapedPath = "/"
	}
	if len(c.segs) == 0 {
		return nil, escapedPath == "/"
	}
	parts := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	params := map[string]string{}
	for i, s := range c.segs {
		if s.greedy {
			rest := strings.Join(parts[i:], "/")
			if i >= len(parts) || rest == "" {
				return nil, false
			}
			params[s.param] = unescape(rest)
			return params, true
		}
		if i >= len(parts) {
			return nil, false
		}
		switch {
		case s.param != "":
			if parts[i] == "" {
				return nil, false
			}
			params[s.param] = unescape(parts[i])
		case parts[i] != s.literal:
			return nil, false
		}
	}
	if len(parts) != len(c.segs) {
		return nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return params, true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}

// rank orders candidate routes as API Gateway picks among matches: the most literal
// segments first, then one-segment variables before a greedy one, then a route of the
// request's method before ANY.
func rank(c compiled) (literals, params int, anyMethod bool) {
	for _, s := range c.segs {
		switch {
		case s.literal != "":
			literals++
		case !s.greedy:
			params++
		}
	}
	return literals, params, c.Method == "ANY"
}

func sortRoutes(cs []compiled) {
	sort.SliceStable(cs, func(i, j int) bool {
		li, pi, ai := rank(cs[i])
		lj, pj, aj := rank(cs[j])
		if li != lj {
			return li > lj
		}
		if pi != pj {
			return pi > pj
		}
		return !ai && aj
	})
}
