// Package jwtauth checks bearer tokens as API Gateway's HTTP API JWT authorizer does, and
// signs the local stack's dev tokens.
//
// API Gateway accepts only RSA-signed tokens whose key it finds by kid in the issuer's
// key set; the local stack has one RSA key (kept under .devstack so tokens outlive a
// restart), signs RS256 tokens with it and checks them against its public half. Dev
// tokens are checked exactly like production ones, never trusted.
package jwtauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Key is the local signing key.
type Key struct {
	private *rsa.PrivateKey
	kid     string
}

// LoadOrCreateKey reads the RSA key at path (PEM), or creates and saves one (mode 0600).
func LoadOrCreateKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		pk, err := jwt.ParseRSAPrivateKeyFromPEM(data)
		if err != nil {
			return nil, fmt.Errorf("read JWT key %s: %w", path, err)
		}
		return NewKey(pk), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read JWT key: %w", err)
	}
	pk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate JWT key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("save JWT key: %w", err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(pk)})
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return nil, fmt.Errorf("save JWT key: %w", err)
	}
	return NewKey(pk), nil
}

// NewKey wraps an RSA key; its kid is derived from the public key.
func NewKey(pk *rsa.PrivateKey) *Key {
	der, _ := x509.MarshalPKIXPublicKey(&pk.PublicKey)
	sum := sha256.Sum256(der)
	return &Key{private: pk, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}
}

// KID is the key id put in token headers.
func (k *Key) KID() string { return k.kid }

// Public is the key's public half.
func (k *Key) Public() *rsa.PublicKey { return &k.private.PublicKey }

// Token describes a token to sign.
type Token struct {
	Issuer   string
	Audience []string
	Subject  string
	// Scopes become the space-separated "scope" claim.
	Scopes []string
	// IssuedAt defaults to now; NotBefore is left out when zero.
	IssuedAt  time.Time
	NotBefore time.Time
	TTL       time.Duration
	// Extra claims (e.g. "username").
	Extra map[string]any
}

// Sign returns the token signed RS256 with the key.
func (k *Key) Sign(t Token) (string, error) {
	iat := t.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	claims := jwt.MapClaims{}
	for name, v := range t.Extra {
		claims[name] = v
	}
	claims["iss"] = t.Issuer
	claims["sub"] = t.Subject
	claims["iat"] = iat.Unix()
	claims["exp"] = iat.Add(t.TTL).Unix()
	claims["jti"] = rand.Text()
	if len(t.Audience) == 1 {
		claims["aud"] = t.Audience[0]
	} else if len(t.Audience) > 1 {
		claims["aud"] = t.Audience
	}
	if !t.NotBefore.IsZero() {
		claims["nbf"] = t.NotBefore.Unix()
	}
	if len(t.Scopes) > 0 {
		claims["scope"] = strings.Join(t.Scopes, " ")
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// Authorizer checks tokens as an HTTP API JWT authorizer configured with Issuer and
// Audience does.
type Authorizer struct {
	Issuer   string
	Audience []string
	// Keys are the issuer's public keys by kid (its JWKS).
	Keys map[string]*rsa.PublicKey
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Identity is what a valid token gives the function: the claims and scopes that API
// Gateway puts in requestContext.authorizer.jwt.
type Identity struct {
	Claims map[string]string
	Scopes []string
}

// Refusal is why a token was refused; API Gateway answers every refusal 401 and says
// why only in the WWW-Authenticate header.
type Refusal struct{ Reason string }

func (r *Refusal) Error() string { return "unauthorized: " + r.Reason }

func refuse(format string, args ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, args...)}
}

// Authorize checks the identity source's value (the Authorization header: the token, or
// "Bearer " and the token) and, when scopes is not empty, that the token grants one of
// them. It follows API Gateway's steps: decode; RSA algorithm and signature by the key
// named by kid; iss; aud or client_id; exp; nbf; iat; scope or scp.
func (a *Authorizer) Authorize(header string, scopes []string) (*Identity, error) {
	raw := strings.TrimSpace(header)
	if len(raw) >= 6 && strings.EqualFold(raw[:6], "bearer") && (len(raw) == 6 || raw[6] == ' ') {
		raw = strings.TrimSpace(raw[6:])
	}
	if raw == "" {
		return nil, refuse("no token")
	}
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}),
		jwt.WithTimeFunc(now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(a.Issuer),
		jwt.WithJSONNumber(),
	)
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, ok := a.Keys[kid]
		if !ok {
			return nil, fmt.Errorf("unknown kid %q", kid)
		}
		return key, nil
	})
	if err != nil {
		return nil, refuse("%s", describe(err))
	}
	if !a.audienceOK(claims) {
		return nil, refuse("invalid audience")
	}
	granted := tokenScopes(claims)
	if len(scopes) > 0 && !slices.ContainsFunc(scopes, func(s string) bool { return slices.Contains(granted, s) }) {
		return nil, refuse("insufficient scope")
	}
	id := &Identity{Claims: make(map[string]string, len(claims))}
	for k, v := range claims {
		id.Claims[k] = claimString(v)
	}
	if len(granted) > 0 {
		id.Scopes = granted
	}
	return id, nil
}

// reasons are the short reasons API Gateway gives for the kinds of parse error, first
// match wins (one error may wrap several kinds).
var reasons = []struct {
	kinds  []error
	reason string
}{
	{[]error{jwt.ErrTokenMalformed}, "malformed token"},
	{[]error{jwt.ErrTokenSignatureInvalid, jwt.ErrTokenUnverifiable}, "signature invalid"},
	{[]error{jwt.ErrTokenExpired}, "the token has expired"},
	{[]error{jwt.ErrTokenRequiredClaimMissing}, "required claim missing"},
	{[]error{jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued}, "the token is not valid yet"},
	{[]error{jwt.ErrTokenInvalidIssuer}, "invalid issuer"},
}

// describe turns a parse error into the short reason API Gateway gives.
func describe(err error) string {
	for _, r := range reasons {
		for _, kind := range r.kinds {
			if errors.Is(err, kind) {
				return r.reason
			}
		}
	}
	return "invalid token"
}

// audienceOK: the token's aud, or client_id when it has no aud, must be one of the
// configured audiences.
func (a *Authorizer) audienceOK(claims jwt.MapClaims) bool {
	var got []string
	switch v := claims["aud"].(type) {
	case string:
		got = []string{v}
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				got = append(got, s)
			}
		}
	case nil:
		if cid, ok := claims["client_id"].(string); ok {
			got = []string{cid}
		}
	}
	for _, g := range got {
		if slices.Contains(a.Audience, g) {
			return true
		}
	}
	return false
}

func tokenScopes(claims jwt.MapClaims) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			var out []string
			for _, e := range v {
				if s, ok := e.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

// claimString renders a claim as API Gateway does in the event, where every claim is a
// string: numbers in decimal, lists in brackets separated by spaces, objects as JSON.
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = claimString(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	}
}
