package samtemplate

import (
	"maps"
	"slices"
)

// Parameter is one entry of the template's Parameters.
type Parameter struct {
	Name string
	Type string
	// Default is the default value; HasDefault tells an empty default from none.
	Default    string
	HasDefault bool
}

func parameters(v any) map[string]Parameter {
	out := map[string]Parameter{}
	m, _ := v.(map[string]any)
	for name, def := range m {
		p := Parameter{Name: name, Type: asString(path(def, "Type"))}
		if d, ok := path(def, "Default").(string); ok {
			p.Default, p.HasDefault = d, true
		}
		out[name] = p
	}
	return out
}

// HTTPAPI is an AWS::Serverless::HttpApi resource: what a local gateway needs to route
// and authorize requests as API Gateway would.
type HTTPAPI struct {
	LogicalID string
	StageName string
	// DefaultAuthorizer applies to routes that name no authorizer; empty for none.
	DefaultAuthorizer string
	// Authorizers are the JWT authorizers by name.
	Authorizers map[string]JWTAuthorizer
}

// JWTAuthorizer is one entry of an HttpApi's Auth.Authorizers.
type JWTAuthorizer struct {
	Name string
	// IdentitySource is where the token is read, e.g. $request.header.Authorization.
	IdentitySource string
	// Issuer and Audience are JwtConfiguration's issuer and audience, unresolved: a
	// string, a Ref, a GetAtt or a Sub (Audience may also be a list of them).
	Issuer   any
	Audience any
}

// HTTPAPIs returns every HttpApi, sorted by logical id.
func (t *Template) HTTPAPIs() []HTTPAPI {
	var out []HTTPAPI
	for _, id := range t.IDs("AWS::Serverless::HttpApi") {
		p := t.Resources[id].Properties
		api := HTTPAPI{
			LogicalID:         id,
			StageName:         asString(p["StageName"]),
			DefaultAuthorizer: asString(path(p, "Auth", "DefaultAuthorizer")),
			Authorizers:       map[string]JWTAuthorizer{},
		}
		auths, _ := path(p, "Auth", "Authorizers").(map[string]any)
		for _, n := range slices.Sorted(maps.Keys(auths)) {
			a := auths[n]
			if path(a, "JwtConfiguration") == nil {
				continue // Lambda authorizers are not JWT authorizers.
			}
			api.Authorizers[n] = JWTAuthorizer{
				Name:           n,
				IdentitySource: asString(path(a, "IdentitySource")),
				Issuer:         path(a, "JwtConfiguration", "issuer"),
				Audience:       path(a, "JwtConfiguration", "audience"),
			}
		}
		out = append(out, api)
	}
	return out
}
