package ghsandbox

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWT rules GitHub applies to App JWTs.
const (
	jwtClockSkew   = 60 * time.Second
	jwtMaxLifetime = 10 * time.Minute
)

type instToken struct {
	installationID int64
	expires        time.Time
	// repos restricts the token to these full names; nil means the installation's.
	repos []string
	// perms restricts the token to these permissions; nil means the installation's.
	perms map[string]string
}

// can reports whether the token holds perm at level "read" (or "write") or better.
func (t instToken) can(perm, level string) bool {
	p := t.perms
	if p == nil {
		p = appPermissions
	}
	has := p[perm]
	return has == "write" || (has == "read" && level == "read")
}

type userToken struct {
	login   string
	expires time.Time
}

// bearer returns the credential of an "Authorization: token X" or "Bearer X" header.
func bearer(r *http.Request) (string, bool) {
	scheme, val, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return "", false
	}
	if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	val = strings.TrimSpace(val)
	return val, val != ""
}

// requireApp checks the App JWT as GitHub does and answers 401 when it fails.
func (s *Sandbox) requireApp(w http.ResponseWriter, r *http.Request) bool {
	raw, ok := bearer(r)
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return false
	}
	if refusal := s.verifyAppJWT(raw); refusal != "" {
		writeError(w, http.StatusUnauthorized, refusal)
		return false
	}
	return true
}

// verifyAppJWT checks signature (RS256, the App's key), iss, iat, exp and lifetime. It
// returns "" when the JWT is good, else the message GitHub answers.
func (s *Sandbox) verifyAppJWT(raw string) string {
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &s.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	if err != nil || !tok.Valid {
		return "A JSON web token could not be decoded"
	}
	claims, ok := tok.Claims.(jwt.MapClaims)
	if !ok {
		return "A JSON web token could not be decoded"
	}
	var iss int64
	switch v := claims["iss"].(type) {
	case string:
		iss, err = strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "'Issuer' claim ('iss') must be an Integer"
		}
	case float64:
		if v != math.Trunc(v) {
			return "'Issuer' claim ('iss') must be an Integer"
		}
		iss = int64(v)
	default:
		return "'Issuer' claim ('iss') must be an Integer"
	}
	if iss != s.opts.AppID {
		return "Integration not found"
	}
	iat, err := claims.GetIssuedAt()
	if err != nil || iat == nil {
		return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	}
	now := s.now()
	switch {
	case iat.After(now.Add(jwtClockSkew)):
		return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
	case !exp.After(now):
		return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	case exp.Sub(iat.Time) > jwtMaxLifetime, exp.After(now.Add(jwtMaxLifetime + jwtClockSkew)):
		return "'Expiration time' claim ('exp') is too far in the future"
	}
	return ""
}

// installationAuth checks an installation token and returns it with its installation.
func (s *Sandbox) installationAuth(w http.ResponseWriter, r *http.Request) (instToken, Installation, bool) {
	raw, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "Requires authentication")
		return instToken{}, Installation{}, false
	}
	t, in, status, msg := s.lookupInstallationToken(raw)
	if status != 0 {
		writeError(w, status, msg)
		return instToken{}, Installation{}, false
	}
	return t, in, true
}

// lookupInstallationToken finds a live token and its installation, or the refusal.
func (s *Sandbox) lookupInstallationToken(raw string) (instToken, Installation, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.instTokens[raw]
	if !ok || !s.now().Before(t.expires) {
		return instToken{}, Installation{}, http.StatusUnauthorized, "Bad credentials"
	}
	in, ok := s.installations[t.installationID]
	if !ok {
		return instToken{}, Installation{}, http.StatusUnauthorized, "Bad credentials"
	}
	if in.Suspended {
		return instToken{}, Installation{}, http.StatusForbidden, "This installation has been suspended"
	}
	return t, in.clone(), 0, ""
}

// userAuth checks an OAuth user token and returns its login.
func (s *Sandbox) userAuth(w http.ResponseWriter, r *http.Request) (string, bool) {
	raw, ok := bearer(r)
	if !ok {
		writeError(w, http.StatusUnauthorized, "Requires authentication")
		return "", false
	}
	s.mu.Lock()
	t, ok := s.userTokens[raw]
	live := ok && s.now().Before(t.expires)
	s.mu.Unlock()
	if !live {
		writeError(w, http.StatusUnauthorized, "Bad credentials")
		return "", false
	}
	return t.login, true
}

// RevokeTokens invalidates every installation token of the installation, as GitHub does
// when an App's installation is reconfigured; the next use answers 401.
func (s *Sandbox) RevokeTokens(installationID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.instTokens {
		if t.installationID == installationID {
			delete(s.instTokens, k)
		}
	}
}

// TokensMinted is how many installation tokens were minted for the installation.
func (s *Sandbox) TokensMinted(installationID int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.minted[installationID]
}

// ValidInstallationToken reports whether token is a live installation token and for
// which installation.
func (s *Sandbox) ValidInstallationToken(token string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.instTokens[token]
	if !ok || !s.now().Before(t.expires) {
		return 0, false
	}
	return t.installationID, true
}
