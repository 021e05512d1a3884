package ghsandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// GitHub's caching headers on a REST answer to a GET, as @octokit/fixtures recorded them.
const (
	readCacheControl = "private, max-age=60, s-maxage=60"
	readVary         = "Accept, Authorization, Cookie, X-GitHub-OTP"
)

// serveRead answers a GET of the REST API as GitHub does: a 200 carries a weak ETag
// (W/"…", of the body, so that it changes exactly when the answer does) and GitHub's
// Cache-Control and Vary; a request whose If-None-Match names the current ETag gets a
// 304 without a body, which does not count against the rate limit (bucket's call,
// counted when it arrived, is given back).
func (s *Sandbox) serveRead(w http.ResponseWriter, r *http.Request, next http.Handler, bucket string) {
	buf := httptest.NewRecorder()
	next.ServeHTTP(buf, r)
	h := w.Header()
	for k, vs := range buf.Header() {
		h[k] = vs
	}
	if buf.Code != http.StatusOK {
		w.WriteHeader(buf.Code)
		_, _ = w.Write(buf.Body.Bytes())
		return
	}
	sum := sha256.Sum256(buf.Body.Bytes())
	etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
	h.Set("ETag", etag)
	h.Set("Cache-Control", readCacheControl)
	h.Set("Vary", readVary)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		s.uncountCall(h, bucket)
		h.Del("Content-Type")
		h.Del("Content-Length")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(buf.Body.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Body.Bytes())
}

// etagMatches is If-None-Match's weak comparison (RFC 9110, 13.1.2): "*", or any listed
// tag whose opaque part is etag's, W/ prefixes ignored.
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == want {
			return true
		}
	}
	return false
}
