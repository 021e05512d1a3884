// Package gateway is a local stand-in for an API Gateway HTTP API with Lambda proxy
// integrations (payload format 2.0): it routes requests as API Gateway does, checks
// bearer JWTs like its JWT authorizer, turns each request into the event AWS would send,
// and the function's answer back into HTTP, including API Gateway's own error answers.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/config"
	"github.com/repotrackr/github-integration/pkg/local/jwtauth"
	"github.com/repotrackr/github-integration/pkg/local/lambdarie"
	"github.com/repotrackr/github-integration/pkg/logging"
)

// MaxBodyBytes is the HTTP API's request payload limit (10 MB).
const MaxBodyBytes = 10 * 1024 * 1024

// DefaultIntegrationTimeout is the HTTP API's integration timeout (30 s).
const DefaultIntegrationTimeout = 30 * time.Second

// Invoker runs a function once with a JSON event.
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) (*lambdarie.Result, error)
}

// Config configures a Gateway.
type Config struct {
	Routes []Route
	// Functions are the invokers by function name.
	Functions map[string]Invoker
	// Authorizers are the JWT authorizers by name.
	Authorizers map[string]*jwtauth.Authorizer
	// MaxBodyBytes bounds a request body (MaxBodyBytes when zero).
	MaxBodyBytes int
	// IntegrationTimeout bounds one invocation (DefaultIntegrationTimeout when zero).
	IntegrationTimeout time.Duration
	// APIID and AccountID fill the request context ("local" and "000000000000" when empty).
	APIID     string
	AccountID string
	// Log receives one access line per request; nil discards.
	Log *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Gateway is an http.Handler serving the routes.
type Gateway struct {
	cfg    Config
	routes []compiled
}

// New checks the routes against the functions and authorizers and returns the Gateway.
func New(cfg Config) (*Gateway, error) {
	if cfg.IntegrationTimeout <= 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = MaxBodyBytes
	}
	if cfg.APIID == "" {
		cfg.APIID = "local"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	cfg.Now = config.NowOr(cfg.Now)
	cfg.Log = logging.OrDiscard(cfg.Log)
	g := &Gateway{cfg: cfg}
	seen := map[string]bool{}
	for _, r := range cfg.Routes {
		r.Method = strings.ToUpper(r.Method)
		c, err := compile(r)
		if err != nil {
			return nil, err
		}
		if seen[r.Key()] {
			return nil, fmt.Errorf("route %s defined twice", r.Key())
		}
		seen[r.Key()] = true
		if _, ok := cfg.Functions[r.Function]; !ok {
			return nil, fmt.Errorf("route %s: no function %q", r.Key(), r.Function)
		}
		if r.Authorizer != "" {
			if _, ok := cfg.Authorizers[r.Authorizer]; !ok {
				return nil, fmt.Errorf("route %s: no authorizer %q", r.Key(), r.Authorizer)
			}
		}
		g.routes = append(g.routes, c)
	}
	sortRoutes(g.routes)
	return g, nil
}

// Routes returns the routes in the order they are tried.
func (g *Gateway) Routes() []Route {
	out := make([]Route, len(g.routes))
	for i, c := range g.routes {
		out[i] = c.Route
	}
	return out
}

// apiError is an answer of API Gateway itself, in its {"message": ...} shape.
func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"message\":%q}", msg)
}

// ServeHTTP routes, authorizes, invokes and answers.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := g.cfg.Now()
	reqID := requestID()
	w.Header().Set("Apigw-Requestid", reqID)
	rec := &statusWriter{ResponseWriter: w}
	route, outcome := g.serve(rec, r, reqID, start)
	attrs := []any{"ms", g.cfg.Now().Sub(start).Milliseconds(), "request_id", reqID}
	if route != "" {
		attrs = append(attrs, "route", route)
	}
	if outcome != "ok" {
		attrs = append(attrs, "outcome", outcome)
	}
	g.cfg.Log.Info(fmt.Sprintf("%s %s -> %d", r.Method, r.URL.EscapedPath(), rec.status), attrs...)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request, reqID string, start time.Time) (route, outcome string) {
	c, params, ok := g.match(r)
	if !ok {
		apiError(w, http.StatusNotFound, "Not Found")
		return "", "no route"
	}
	route = c.Key()
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(g.cfg.MaxBodyBytes)+1))
	if err != nil {
		apiError(w, http.StatusBadRequest, "Bad Request")
		return route, "body unreadable"
	}
	if len(body) > g.cfg.MaxBodyBytes {
		apiError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return route, "body too large"
	}
	var identity *jwtauth.Identity
	if c.Authorizer != "" {
		identity, err = g.cfg.Authorizers[c.Authorizer].Authorize(r.Header.Get("Authorization"), c.Scopes)
		if err != nil {
			var ref *jwtauth.Refusal
			if errors.As(err, &ref) && r.Header.Get("Authorization") != "" {
				w.Header().Set("Www-Authenticate", fmt.Sprintf("Bearer scope=%q error=\"invalid_token\" error_description=%q", strings.Join(c.Scopes, " "), ref.Reason))
			}
			apiError(w, http.StatusUnauthorized, "Unauthorized")
			return route, "unauthorized"
		}
	}
	ev := g.event(r, c, params, body, identity, reqID, start)
	payload, err := json.Marshal(ev)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "Internal Server Error")
		return route, "event encoding failed"
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.IntegrationTimeout)
	defer cancel()
	res, err := g.cfg.Functions[c.Function].Invoke(ctx, payload)
	switch {
	case errors.Is(err, lambdarie.ErrPayloadTooLarge):
		apiError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return route, "event over Lambda's payload limit"
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		apiError(w, http.StatusServiceUnavailable, "Service Unavailable")
		return route, "integration timeout"
	case err != nil:
		apiError(w, http.StatusInternalServerError, "Internal Server Error")
		return route, "invoke failed: " + err.Error()
	case res.FunctionError != "":
		apiError(w, http.StatusInternalServerError, "Internal Server Error")
		return route, "function error: " + errorType(res.Payload)
	}
	if err := writeResponse(w, res.Payload); err != nil {
		apiError(w, http.StatusInternalServerError, "Internal Server Error")
		return route, "malformed function response: " + err.Error()
	}
	return route, "ok"
}

func (g *Gateway) match(r *http.Request) (compiled, map[string]string, bool) {
	p := r.URL.EscapedPath()
	for _, c := range g.routes {
		if c.Method != "ANY" && c.Method != r.Method {
			continue
		}
		if params, ok := c.match(p); ok {
			return c, params, true
		}
	}
	return compiled{}, nil, false
}

// event builds the payload format 2.0 event for the request.
func (g *Gateway) event(r *http.Request, c compiled, params map[string]string, body []byte,
	id *jwtauth.Identity, reqID string, at time.Time) *events.APIGatewayV2HTTPRequest {
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		sourceIP = host
	}
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	// The cookie header moves to the cookies field.
	var cookies []string
	if ck, ok := headers["cookie"]; ok {
		for _, c := range strings.Split(ck, ";") {
			if c = strings.TrimSpace(c); c != "" {
				cookies = append(cookies, c)
			}
		}
		delete(headers, "cookie")
	}
	headers["x-forwarded-for"] = sourceIP
	headers["x-forwarded-proto"] = "http"
	if _, port, err := net.SplitHostPort(r.Host); err == nil {
		headers["x-forwarded-port"] = port
	}
	headers["x-amzn-trace-id"] = traceID(at)
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	var query map[string]string
	if q := r.URL.Query(); len(q) > 0 {
		query = make(map[string]string, len(q))
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	domain := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		domain = h
	}
	prefix, _, _ := strings.Cut(domain, ".")
	ev := &events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              c.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     c.Key(),
			AccountID:    g.cfg.AccountID,
			Stage:        "$default",
			RequestID:    reqID,
			APIID:        g.cfg.APIID,
			DomainName:   domain,
			DomainPrefix: prefix,
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if id != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: id.Claims, Scopes: id.Scopes},
		}
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether API Gateway passes a body of this content type as text rather
// than base64: text/*, JSON, XML and JavaScript. Everything else, form posts included,
// arrives base64-encoded.
func isText(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}

// writeResponse maps the function's answer to HTTP as API Gateway does for payload
// format 2.0: an object with statusCode is a structured response; any other valid JSON
// is a 200 application/json answer whose body is that JSON.
func writeResponse(w http.ResponseWriter, payload []byte) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(payload, &probe); err != nil || probe["statusCode"] == nil {
		if !json.Valid(payload) {
			return errors.New("not JSON")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
		return nil
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &resp); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return fmt.Errorf("body is not base64: %w", err)
		}
		body = b
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if h.Get("Content-Type") == "" {
		// API Gateway does not guess a content type; keep net/http from sniffing one.
		h["Content-Type"] = nil
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
	return nil
}

func errorType(payload []byte) string {
	var e struct {
		ErrorType string `json:"errorType"`
	}
	_ = json.Unmarshal(payload, &e)
	if e.ErrorType == "" {
		return "unknown"
	}
	return e.ErrorType
}

// requestID returns an id of the form API Gateway gives HTTP API requests.
func requestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawStdEncoding.EncodeToString(b[:])[:15] + "="
}

// traceID returns an X-Ray trace header value as API Gateway adds it.
func traceID(at time.Time) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("Root=1-%08x-%s", at.Unix(), hex.EncodeToString(b[:]))
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}
