package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
)

// SignaturePrefix starts every X-Hub-Signature-256 value.
const SignaturePrefix = "sha256="

// Verification errors. Each maps to its own rejection reason; none says which secret
// was tried or what the expected signature was.
var (
	ErrNoSecret           = errors.New("no webhook secret configured")
	ErrMissingSignature   = errors.New("missing " + HeaderSignature256 + " header")
	ErrMalformedSignature = errors.New(HeaderSignature256 + " is not sha256= followed by 64 hex digits")
	ErrBadSignature       = errors.New("signature does not match any configured secret")
)

// Verifier checks X-Hub-Signature-256 against one or more secrets: the current one and,
// during a rotation, the previous one. It is safe for concurrent use.
type Verifier struct {
	keys []key
}

// key is one secret with a pool of keyed HMACs: hmac.New costs two hash states and the
// padded key each time, Reset on a pooled one costs nothing.
type key struct {
	pool *sync.Pool
}

// NewVerifier returns a Verifier for secrets, a comma-separated list (current first,
// then previous) as GITHUB_WEBHOOK_SECRET holds it. Entries are trimmed of spaces and
// empty ones ignored, so a secret can contain neither a comma nor surrounding spaces.
// With no secret left the Verifier refuses everything with ErrNoSecret.
func NewVerifier(secrets string) *Verifier {
	v := &Verifier{}
	for _, s := range strings.Split(secrets, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		secret := []byte(s)
		v.keys = append(v.keys, key{pool: &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}})
	}
	return v
}

// Configured reports whether the Verifier holds at least one secret.
func (v *Verifier) Configured() bool { return v != nil && len(v.keys) > 0 }

// Secrets returns how many secrets the Verifier accepts (for logs, never the values).
func (v *Verifier) Secrets() int {
	if v == nil {
		return 0
	}
	return len(v.keys)
}

// Verify checks header, the X-Hub-Signature-256 value, against the HMAC-SHA256 of body,
// the raw request body exactly as received, under each configured secret, in constant
// time. It returns nil when one secret matches.
func (v *Verifier) Verify(body []byte, header string) error {
	if !v.Configured() {
		return ErrNoSecret
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return ErrMissingSignature
	}
	hexSig, ok := strings.CutPrefix(header, SignaturePrefix)
	if !ok || len(hexSig) != 2*sha256.Size {
		return ErrMalformedSignature
	}
	var want [sha256.Size]byte
	if !decodeHex(want[:], hexSig) {
		return ErrMalformedSignature
	}
	var sum [sha256.Size]byte
	matched := false
	for _, k := range v.keys {
		mac := k.pool.Get().(hash.Hash)
		mac.Reset()
		mac.Write(body)
		got := mac.Sum(sum[:0])
		k.pool.Put(mac)
		// Every secret is tried, so the time taken does not say which one matched.
		if hmac.Equal(got, want[:]) {
			matched = true
		}
	}
	if !matched {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value GitHub sends for body under secret. The
// local stack, the tests and the sample events use it to sign deliveries.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return SignaturePrefix + hex.EncodeToString(mac.Sum(nil))
}

// decodeHex decodes src (2*len(dst) hex digits, either case) into dst without the
// allocation of converting src to bytes, and without quoting src in an error.
func decodeHex(dst []byte, src string) bool {
	for i := range dst {
		hi, ok1 := fromHex(src[2*i])
		lo, ok2 := fromHex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func fromHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
