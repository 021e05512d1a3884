// Package httpapi holds what every HTTP-facing function shares: reading API Gateway HTTP
// API (payload v2) requests, answering with JSON, the caller's identity from the JWT
// authorizer, and the one place where error kinds become status codes.
package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// Error is an error with the status code and the reason a caller may see. The wrapped
// Err is for logs only and never reaches the caller.
type Error struct {
	Status int
	Reason string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Reason, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Reason)
}

func (e *Error) Unwrap() error { return e.Err }

// Fail returns an *Error.
func Fail(status int, reason string, err error) error {
	return &Error{Status: status, Reason: reason, Err: err}
}

// StatusOf maps an error to the status and reason a caller sees: an *Error's own, and
// 500 "internal error" for anything else, so that internals never leak.
func StatusOf(err error) (int, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Status, e.Reason
	}
	return http.StatusInternalServerError, "internal error"
}

// Respond answers err as JSON {"error": reason} and logs it (server errors at error level).
func Respond(log *slog.Logger, err error) events.APIGatewayV2HTTPResponse {
	status, reason := StatusOf(err)
	if log != nil {
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		log.Log(context.Background(), level, "request refused", "status", status, "reason", reason, "err", err)
	}
	return ErrorResponse(status, reason)
}

// ErrorResponse is a JSON error answer.
func ErrorResponse(status int, reason string) events.APIGatewayV2HTTPResponse {
	return JSON(status, map[string]string{"error": reason})
}

// JSON answers v as JSON with status.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
}

// Header returns a request header whatever the case of its name (API Gateway sends them
// lower case; other callers may not).
func Header(req *events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Body returns the raw request body, decoding API Gateway's base64 when it says so.
func Body(req *events.APIGatewayV2HTTPRequest) ([]byte, error) {
	if !req.IsBase64Encoded {
		return []byte(req.Body), nil
	}
	b, err := base64.StdEncoding.DecodeString(req.Body)
	if err != nil {
		return nil, Fail(http.StatusBadRequest, "body is not valid base64", err)
	}
	return b, nil
}

// ErrUnauthenticated is returned by Subject when the request carries no verified caller.
var ErrUnauthenticated = Fail(http.StatusUnauthorized, "authentication required", nil)

// Subject returns the caller: the `sub` claim that API Gateway's JWT authorizer (or the
// local gateway, which checks tokens the same way) put in the request context. Routes
// behind the authorizer must never be reachable without it, so no claim means no access.
func Subject(req *events.APIGatewayV2HTTPRequest) (string, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.JWT == nil {
		return "", ErrUnauthenticated
	}
	sub := strings.TrimSpace(req.RequestContext.Authorizer.JWT.Claims["sub"])
	if sub == "" {
		return "", ErrUnauthenticated
	}
	return sub, nil
}
