package health

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/logging"
)

// Routes.
const (
	RouteHealth = "/webhooks/github/health"
	RouteStatus = "/webhooks/github/status"
)

// Handler answers the health function's routes behind API Gateway (HTTP API,
// payload v2): GET /webhooks/github/health (JSON; the HTML page when the client prefers
// text/html) and GET /webhooks/github/status (the HTML page). Both take ?window=1h, 6h
// or 24h (anything else is 400), and both answer from the checker's cache, keyed by the
// window alone, so no query string turns a request into backend calls.
type Handler struct {
	checker *Checker
	log     *slog.Logger
}

// NewHandler returns a Handler over the checker.
func NewHandler(c *Checker, log *slog.Logger) *Handler {
	return &Handler{checker: c, log: logging.OrDiscard(log)}
}

// pageHeaders keep the public page inert: no scripts, no external loads, no framing.
var pageHeaders = map[string]string{
	"Content-Type":            "text/html; charset=utf-8",
	"Cache-Control":           "no-store",
	"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
	"Referrer-Policy":         "no-referrer",
}

// Handle answers one request. It never returns an error: failures are answers.
func (h *Handler) Handle(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	p := req.RawPath
	if p == "" {
		p = req.RequestContext.HTTP.Path
	}
	if m := req.RequestContext.HTTP.Method; m != "" && m != http.MethodGet && m != http.MethodHead {
		return httpapi.ErrorResponse(http.StatusMethodNotAllowed, "method not allowed"), nil
	}
	route := strings.TrimSuffix(p, "/")
	page := false
	switch route {
	case RouteStatus:
		page = true
	case RouteHealth:
		page = prefersHTML(httpapi.Header(&req, "Accept"))
	default:
		return httpapi.ErrorResponse(http.StatusNotFound, "not found"), nil
	}
	window, err := ParseWindow(req.QueryStringParameters["window"])
	if err != nil {
		return httpapi.Respond(h.log, httpapi.Fail(http.StatusBadRequest, err.Error(), err)), nil
	}
	if !page {
		r := h.checker.Check(ctx, window)
		h.log.Info("health checked", "status", r.Status, "window", r.Window, "reasons", r.Reasons)
		return httpapi.JSON(statusCode(r), r), nil
	}
	body, r, err := h.checker.Page(ctx, window)
	if err != nil {
		return httpapi.Respond(h.log, err), nil
	}
	h.log.Info("status page", "status", r.Status, "window", r.Window)
	code := http.StatusOK
	if route == RouteHealth {
		// The health route keeps its meaning for monitors whatever the format.
		code = statusCode(r)
	}
	headers := make(map[string]string, len(pageHeaders))
	for k, v := range pageHeaders {
		headers[k] = v
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: code, Headers: headers, Body: string(body)}, nil
}

// statusCode is 503 for unhealthy, so that plain HTTP monitors see it, and 200 otherwise.
func statusCode(r Report) int {
	if r.Status == StatusUnhealthy {
		return http.StatusServiceUnavailable
	}
	return http.StatusOK
}

// prefersHTML reads an Accept header: true when text/html (or XHTML) is acceptable and
// ranks at least as high as JSON, as a browser's does; false for curl's */*, for
// monitors, and when there is no header.
func prefersHTML(accept string) bool {
	var html, json float64 = -1, -1
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		}
	}
	return html > 0 && html >= json
}

// ServeHTTP answers plain HTTP requests the same way, by turning them into API Gateway
// events: for previewing the page and for tests in a browser.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	req := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: r.URL.Path, RawQueryString: r.URL.RawQuery,
		Headers: headers, QueryStringParameters: query,
	}
	req.RequestContext.HTTP.Method = r.Method
	req.RequestContext.HTTP.Path = r.URL.Path
	resp, _ := h.Handle(r.Context(), req)
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err == nil {
			_, _ = w.Write(b)
		}
		return
	}
	_, _ = io.WriteString(w, resp.Body)
}
