package jwtauth

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateKeyKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "jwt.pem")
	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey() error = %v", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey() again error = %v", err)
	}
	if k1.KID() != k2.KID() || !k1.Public().Equal(k2.Public()) {
		t.Error("LoadOrCreateKey() gave another key on the second call")
	}
	// A token signed before a restart is accepted after it.
	tok, err := k1.Sign(Token{Issuer: "i", Audience: []string{"a"}, Subject: "dev-user", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	a := &Authorizer{Issuer: "i", Audience: []string{"a"}, Keys: map[string]*rsa.PublicKey{k2.KID(): k2.Public()}}
	id, err := a.Authorize("Bearer "+tok, nil)
	if err != nil {
		t.Fatalf("Authorize() error = %v", err)
	}
	if id.Claims["sub"] != "dev-user" {
		t.Errorf("sub = %q, want dev-user", id.Claims["sub"])
	}
}

func TestLoadOrCreateKeyRejectsGarbage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt.pem")
	if err := os.WriteFile(path, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Error("LoadOrCreateKey(garbage) error = nil, want an error")
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	// A short key keeps the test fast; the authorizer does not care about the size.
	pk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k := NewKey(pk)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	a := &Authorizer{Issuer: "iss", Audience: []string{"aud"}, Keys: map[string]*rsa.PublicKey{k.KID(): k.Public()}, Now: func() time.Time { return now }}
	sign := func(tk Token) string {
		t.Helper()
		if tk.IssuedAt.IsZero() {
			tk.IssuedAt = now.Add(-time.Minute)
		}
		s, err := k.Sign(tk)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := Token{Issuer: "iss", Audience: []string{"aud"}, Subject: "u", TTL: time.Hour}
	hs256 := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"iss","aud":"aud","sub":"u","exp":9999999999}`)) + ".c2ln"
	noExp := headerless(t, sign(good))
	tests := []struct {
		name   string
		header string
		scopes []string
		reason string
	}{
		{"empty", "", nil, "no token"},
		{"bearer only", "Bearer ", nil, "no token"},
		{"malformed", "Bearer abc", nil, "malformed token"},
		{"HMAC algorithm", "Bearer " + hs256, nil, "signature invalid"},
		{"tampered", "Bearer " + noExp, nil, "signature invalid"},
		{"expired", "Bearer " + sign(Token{Issuer: "iss", Audience: []string{"aud"}, Subject: "u", TTL: time.Minute, IssuedAt: now.Add(-2 * time.Minute)}), nil, "the token has expired"},
		{"wrong issuer", "Bearer " + sign(Token{Issuer: "other", Audience: []string{"aud"}, Subject: "u", TTL: time.Hour}), nil, "invalid issuer"},
		{"no audience", "Bearer " + sign(Token{Issuer: "iss", Subject: "u", TTL: time.Hour}), nil, "invalid audience"},
		{"client_id instead of aud", "Bearer " + sign(Token{Issuer: "iss", Subject: "u", TTL: time.Hour, Extra: map[string]any{"client_id": "aud"}}), nil, ""},
		{"scope list in scp", "Bearer " + sign(Token{Issuer: "iss", Audience: []string{"aud"}, Subject: "u", TTL: time.Hour, Extra: map[string]any{"scp": []string{"x", "y"}}}), []string{"y"}, ""},
		{"insufficient scope", "Bearer " + sign(good), []string{"admin"}, "insufficient scope"},
		{"good", "Bearer " + sign(good), nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.Authorize(tc.header, tc.scopes)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Authorize() error = %v, want nil", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Authorize() error = %v, want a *Refusal", err)
			}
			if r.Reason != tc.reason {
				t.Errorf("Authorize() reason = %q, want %q", r.Reason, tc.reason)
			}
		})
	}
}

// headerless returns tok with its payload changed and the signature kept.
func headerless(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["sub"] = "admin"
	b, _ = json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func TestClaimString(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"s", "s"},
		{json.Number("1700000000"), "1700000000"},
		{true, "true"},
		{[]any{"a", "b"}, "[a b]"},
		{map[string]any{"k": "v"}, `{"k":"v"}`},
		{nil, ""},
	}
	for _, tc := range tests {
		if got := claimString(tc.in); got != tc.want {
			t.Errorf("claimString(%#v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
