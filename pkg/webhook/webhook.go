// Package webhook checks GitHub webhook deliveries as GitHub documents them: the
// HMAC-SHA256 signature over the raw body, the delivery headers, the two content types
// and where each carries the JSON payload. It knows nothing of Lambda or SQS.
package webhook

import (
	"errors"
	"net/url"
	"strings"
)

// Header names GitHub sends with every delivery.
const (
	HeaderEvent         = "X-GitHub-Event"
	HeaderDelivery      = "X-GitHub-Delivery"
	HeaderSignature256  = "X-Hub-Signature-256"
	HeaderSignatureSHA1 = "X-Hub-Signature" // legacy SHA-1; never enough on its own
	HeaderContentType   = "Content-Type"
)

// Limits on the delivery headers. GitHub's values are far shorter (a GUID, an event
// name); the limits keep unsigned header values out of SQS attributes, table keys and
// metric dimensions when they are not what GitHub sends.
const (
	MaxDeliveryIDLen = 128
	MaxEventTypeLen  = 64
)

// Header validation errors.
var (
	ErrMissingEvent    = errors.New("missing " + HeaderEvent + " header")
	ErrMissingDelivery = errors.New("missing " + HeaderDelivery + " header")
	ErrBadEvent        = errors.New(HeaderEvent + " is not an event name")
	ErrBadDelivery     = errors.New(HeaderDelivery + " is not a delivery id")
)

// CheckHeaders validates the X-GitHub-Event and X-GitHub-Delivery values. Headers are
// not covered by the signature, so they are held to GitHub's own shapes: an event name
// is lower-case letters, digits and underscores (projects_v2_item), a delivery id (a
// GUID) letters, digits, '-', '_' and '.'.
func CheckHeaders(event, delivery string) error {
	switch {
	case event == "":
		return ErrMissingEvent
	case delivery == "":
		return ErrMissingDelivery
	case len(event) > MaxEventTypeLen || !all(event, isEventByte):
		return ErrBadEvent
	case len(delivery) > MaxDeliveryIDLen || !all(delivery, isDeliveryByte):
		return ErrBadDelivery
	}
	return nil
}

func all(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isEventByte(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' }

func isDeliveryByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
}

// Format is how a delivery carries its JSON payload.
type Format int

// The two formats a GitHub webhook can be configured with.
const (
	FormatJSON Format = iota + 1 // application/json: the body is the payload
	FormatForm                   // application/x-www-form-urlencoded: the payload is the form field "payload"
)

// ErrUnsupportedMediaType means a content type other than the two GitHub sends; a
// missing Content-Type is one too, since GitHub always sends it.
var ErrUnsupportedMediaType = errors.New("content type is neither application/json nor application/x-www-form-urlencoded")

// MediaType returns the Format of a Content-Type value. Parameters such as charset are
// allowed and ignored; the media type itself is matched without regard to case.
func MediaType(contentType string) (Format, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	// Lower-cased rather than compared with strings.EqualFold, whose Unicode folding
	// takes "application/j\u017fon" (a long s) for application/json.
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "application/json":
		return FormatJSON, nil
	case "application/x-www-form-urlencoded":
		return FormatForm, nil
	}
	return 0, ErrUnsupportedMediaType
}

// Payload errors.
var (
	ErrNoPayload = errors.New("form body has no payload field")
	ErrBadForm   = errors.New("form body is not URL-encoded")
)

// Payload returns the JSON payload of a verified body: the body itself for FormatJSON,
// the form field "payload" for FormatForm. It does not look into the payload: the
// envelope builder (envelope.Build) parses it and refuses one that is not a JSON object.
func Payload(f Format, body []byte) ([]byte, error) {
	if f != FormatForm {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, ErrBadForm
	}
	values, ok := form["payload"]
	if !ok || len(values) == 0 {
		return nil, ErrNoPayload
	}
	return []byte(values[0]), nil
}
