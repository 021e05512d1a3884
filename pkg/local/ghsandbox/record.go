package ghsandbox

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Credential is the kind of credential a call carried.
type Credential string

// Credential kinds recorded for each call.
const (
	CredNone              Credential = "none"
	CredAppJWT            Credential = "app_jwt"
	CredInstallationToken Credential = "installation_token"
	CredUserToken         Credential = "user_token"
	// CredUnknown is a credential the sandbox does not know (wrong, revoked or garbage).
	CredUnknown Credential = "unknown"
)

// maxCalls bounds the call log; the oldest half goes when it is full.
const maxCalls = 10000

// Call is one request the sandbox answered (the last maxCalls are kept).
type Call struct {
	Method     string
	Path       string
	RawQuery   string
	Credential Credential
	// InstallationID is the installation of an installation token, else 0.
	InstallationID int64
	Status         int
	At             time.Time
}

// Fault makes matching requests fail before the sandbox handles them.
type Fault struct {
	// Method matches the request method; "" matches any.
	Method string
	// Path is a pattern over the URL path: "*" matches one segment, a final "**" matches
	// the rest (including nothing). "/repos/*/*/contents/**" matches every contents call.
	Path string
	// Status is the answer's status code.
	Status int
	// Times is how many matching requests fail; values below 1 mean 1.
	Times int
	// Header is added to the answer.
	Header http.Header
	// Message is the answer's "message"; the status text when empty.
	Message string
	// DocumentationURL overrides the answer's documentation_url.
	DocumentationURL string
}

type fault struct {
	Fault
	left int
}

// InjectFault makes the next f.Times requests matching f fail with f.Status. Faults are
// tried in the order they were injected.
func (s *Sandbox) InjectFault(f Fault) {
	if f.Times < 1 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &fault{Fault: f, left: f.Times})
}

// ClearFaults drops every injected fault that has not run out, ending an outage that
// InjectFault began with a large Times.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FailNext makes the next n requests for method and path pattern answer status.
func (s *Sandbox) FailNext(method, path string, n, status int) {
	s.InjectFault(Fault{Method: method, Path: path, Status: status, Times: n})
}

// RateLimitNext makes the next n matching requests answer a primary rate limit refusal
// (status 403 or 429, x-ratelimit-remaining 0, x-ratelimit-reset at reset).
func (s *Sandbox) RateLimitNext(method, path string, n, status int, reset time.Time) {
	h := http.Header{}
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Used", "5000")
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "core")
	s.InjectFault(Fault{
		Method: method, Path: path, Status: status, Times: n, Header: h,
		Message: primaryLimitMessage, DocumentationURL: primaryLimitDocs,
	})
}

// SecondaryRateLimitNext makes the next n matching requests answer a secondary rate
// limit refusal: status 403 or 429, with Retry-After when retryAfter > 0 and without it
// (GitHub sends both) when 0.
func (s *Sandbox) SecondaryRateLimitNext(method, path string, n, status int, retryAfter time.Duration) {
	h := http.Header{}
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
	}
	s.InjectFault(Fault{
		Method: method, Path: path, Status: status, Times: n, Header: h,
		Message: secondaryLimitMessage, DocumentationURL: secondaryLimitDocs,
	})
}

// PendingFaults is how many injected failures are still to be served.
func (s *Sandbox) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

// Calls returns the requests answered so far, oldest first.
func (s *Sandbox) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = *c
	}
	return out
}

// CountCalls counts answered requests matching method ("" = any) and path pattern (as in
// Fault.Path).
func (s *Sandbox) CountCalls(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.calls {
		if (method == "" || c.Method == method) && matchPath(path, c.Path) {
			n++
		}
	}
	return n
}

// ResetCalls forgets the recorded calls.
func (s *Sandbox) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// matchPath reports whether path matches pattern: "*" is one segment, a final "**" the rest.
func matchPath(pattern, path string) bool {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(xs) {
			return false
		}
		if p != "*" && p != xs[i] {
			return false
		}
	}
	return len(ps) == len(xs)
}

// statusRecorder notes the status in the call record as soon as it is written, before
// the client can see the answer.
type statusRecorder struct {
	http.ResponseWriter
	s    *Sandbox
	call *Call
	set  bool
}

func (r *statusRecorder) note(code int) {
	if r.set {
		return
	}
	r.set = true
	r.s.mu.Lock()
	r.call.Status = code
	r.s.mu.Unlock()
}

func (r *statusRecorder) WriteHeader(code int) {
	r.note(code)
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.note(http.StatusOK)
	return r.ResponseWriter.Write(b)
}

// record logs every call (before answering, so a client that has its answer finds the
// call logged), adds GitHub's rate limit headers to every REST answer (injected faults
// and refusals included), serves injected faults and rate limits.
func (s *Sandbox) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := &Call{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, At: s.now()}
		call.Credential, call.InstallationID = s.credentialOf(r)
		s.mu.Lock()
		if len(s.calls) >= maxCalls {
			// A long-running local stack must not grow without bound.
			s.calls = append(s.calls[:0], s.calls[len(s.calls)-maxCalls/2:]...)
		}
		s.calls = append(s.calls, call)
		s.mu.Unlock()
		rec := &statusRecorder{ResponseWriter: w, s: s, call: call}
		bucket := ""
		if isAPIPath(r.URL.Path) {
			bucket = rateBucket(call.Credential, call.InstallationID, r)
			s.countCall(rec.Header(), bucket)
		}
		if hasDotSegment(r.URL.Path) {
			// ServeMux would redirect to the cleaned path; GitHub does not resolve dots.
			writeError(rec, http.StatusNotFound, "Not Found")
		} else if f := s.takeFault(r); f != nil {
			for k, vs := range f.Header {
				rec.Header()[k] = vs
			}
			msg := f.Message
			if msg == "" {
				msg = http.StatusText(f.Status)
			}
			doc := f.DocumentationURL
			if doc == "" {
				doc = docsURL
			}
			writeJSON(rec, f.Status, map[string]string{"message": msg, "documentation_url": doc, "status": strconv.Itoa(f.Status)})
		} else if call.Credential == CredInstallationToken && s.rateLimited(rec, call.InstallationID) {
			return
		} else if r.Method == http.MethodGet && bucket != "" {
			s.serveRead(rec, r, next, bucket)
		} else {
			next.ServeHTTP(rec, r)
		}
	})
}

func hasDotSegment(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func isAPIPath(p string) bool {
	if p == "/app" || p == "/user" {
		return true
	}
	for _, prefix := range []string{"/app/", "/app-manifests/", "/installation/", "/repos/", "/user/"} {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

func (s *Sandbox) takeFault(r *http.Request) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.left > 0 && (f.Method == "" || f.Method == r.Method) && matchPath(f.Path, r.URL.Path) {
			f.left--
			if f.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

// credentialOf classifies the Authorization header without judging its validity beyond
// "known to the sandbox".
func (s *Sandbox) credentialOf(r *http.Request) (Credential, int64) {
	scheme, val, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || val == "" {
		return CredNone, 0
	}
	if strings.EqualFold(scheme, "bearer") && strings.Count(val, ".") == 2 && strings.HasPrefix(val, "eyJ") {
		return CredAppJWT, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.instTokens[val]; ok {
		return CredInstallationToken, t.installationID
	}
	if _, ok := s.userTokens[val]; ok {
		return CredUserToken, 0
	}
	return CredUnknown, 0
}
