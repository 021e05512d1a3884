package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/store"
)

// MinStateKeyLen is the shortest accepted state signing key, in bytes.
const MinStateKeyLen = 32

// A state is "<id>.<expiry>.<signature>": id is 16 random bytes in hex, the key of the
// stored state (which binds the user and is deleted when used); expiry is Unix seconds;
// the signature is HMAC-SHA256 over the purpose, id and expiry. The signature lets a
// forged or expired state be refused before any table read, and the purpose keeps an
// installation state from completing an App registration and the other way round.
const (
	purposeInstall  = "install"
	purposeManifest = "manifest"
	// manifestStateUser stands for "no user" in a manifest flow's stored state.
	manifestStateUser = "github-app-registration"
	stateIDBytes      = 16
)

// State refusals.
var (
	errStateMissing   = httpapi.Fail(http.StatusBadRequest, "missing state", nil)
	errStateExpired   = httpapi.Fail(http.StatusBadRequest, "state expired; start again", nil)
	errStateUsed      = httpapi.Fail(http.StatusBadRequest, "state already used; start again", nil)
	errNoStateKey     = httpapi.Fail(http.StatusServiceUnavailable, "state signing key not configured", nil)
	errStateMalformed = errors.New("malformed state")
)

// stateSigner signs and verifies states with the configured keys.
type stateSigner struct {
	keys [][]byte
}

func stateMAC(key []byte, purpose, id string, exp int64) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "repotrackr-state/v1\x00%s\x00%s\x00%d", purpose, id, exp)
	return m.Sum(nil)
}

func (s stateSigner) sign(purpose, id string, exp time.Time) string {
	sig := stateMAC(s.keys[0], purpose, id, exp.Unix())
	return id + "." + strconv.FormatInt(exp.Unix(), 10) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// verify checks a state's form and signature (any key) and returns its id and expiry.
func (s stateSigner) verify(purpose, token string) (string, time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[0]) != 2*stateIDBytes || len(token) > 200 {
		return "", time.Time{}, errStateMalformed
	}
	if _, err := hex.DecodeString(parts[0]); err != nil {
		return "", time.Time{}, errStateMalformed
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return "", time.Time{}, errStateMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return "", time.Time{}, errStateMalformed
	}
	// Only the one spelling sign gives: upper-case hex, a "+" or leading zeros in the
	// expiry, or base64 with stray trailing bits would name the same state differently.
	if strings.ToLower(parts[0]) != parts[0] || strconv.FormatInt(exp, 10) != parts[1] ||
		base64.RawURLEncoding.EncodeToString(sig) != parts[2] {
		return "", time.Time{}, errStateMalformed
	}
	for _, k := range s.keys {
		if hmac.Equal(sig, stateMAC(k, purpose, parts[0], exp)) {
			return parts[0], time.Unix(exp, 0), nil
		}
	}
	return "", time.Time{}, errors.New("state signature does not match")
}

// issueState stores a new state for user and returns it signed.
func (a *API) issueState(ctx context.Context, purpose, user string, ttl time.Duration) (string, time.Time, error) {
	if len(a.states.keys) == 0 {
		return "", time.Time{}, errNoStateKey
	}
	b := make([]byte, stateIDBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	id := hex.EncodeToString(b)
	now := a.now().UTC()
	exp := now.Add(ttl).Truncate(time.Second)
	if err := a.store.PutState(ctx, store.State{ID: id, UserID: user, ExpiresAt: exp.Unix(), CreatedAt: now}); err != nil {
		return "", time.Time{}, fmt.Errorf("issue %s state: %w", purpose, err)
	}
	a.audit(ctx, "state_issued", user, "ok", slog.String("purpose", purpose), stateRef(id), slog.Time("expires_at", exp))
	return a.states.sign(purpose, id, exp), exp, nil
}

// consumeState verifies a state (signature and expiry, without a table read) and uses
// it up (a conditional delete: of two uses exactly one succeeds). It returns the stored
// state, which names the user it was issued to.
func (a *API) consumeState(ctx context.Context, purpose, token string) (store.State, error) {
	if token == "" {
		a.audit(ctx, "state_refused", "", "refused", slog.String("purpose", purpose), slog.String("reason", "missing"))
		return store.State{}, errStateMissing
	}
	if len(a.states.keys) == 0 {
		return store.State{}, errNoStateKey
	}
	id, exp, err := a.states.verify(purpose, token)
	if err != nil {
		a.audit(ctx, "state_refused", "", "refused", slog.String("purpose", purpose), slog.String("reason", "invalid"))
		return store.State{}, httpapi.Fail(http.StatusBadRequest, "invalid state", err)
	}
	if !a.now().Before(exp) {
		a.audit(ctx, "state_refused", "", "refused", slog.String("purpose", purpose), slog.String("reason", "expired"), stateRef(id))
		return store.State{}, errStateExpired
	}
	st, err := a.store.ConsumeState(ctx, id)
	switch {
	case errors.Is(err, store.ErrStateUsed):
		a.audit(ctx, "state_refused", "", "refused", slog.String("purpose", purpose), slog.String("reason", "used"), stateRef(id))
		return store.State{}, errStateUsed
	case errors.Is(err, store.ErrStateExpired):
		a.audit(ctx, "state_refused", st.UserID, "refused", slog.String("purpose", purpose), slog.String("reason", "expired"), stateRef(id))
		return store.State{}, errStateExpired
	case err != nil:
		return store.State{}, fmt.Errorf("consume state: %w", err)
	}
	a.audit(ctx, "state_consumed", st.UserID, "ok", slog.String("purpose", purpose), stateRef(id))
	return st, nil
}

// stateRef names a state in logs by a prefix of its id: enough to follow one flow, not
// the state itself.
func stateRef(id string) slog.Attr {
	if len(id) > 8 {
		id = id[:8]
	}
	return slog.String("state_ref", id)
}
