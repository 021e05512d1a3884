package httpapi

import (
	"errors"

	"github.com/go-json-experiment/json/jsontext"
)

// ErrNotStrictJSON means a body is not the strict JSON the design brief defines: not
// valid JSON, invalid UTF-8 (or an escape that is no Unicode code point), one member
// named twice in an object, or nesting deeper than jsontext's default limit (10,000).
var ErrNotStrictJSON = errors.New("not strict JSON (RFC 7493: valid UTF-8, unique names; nesting at most 10000)")

// StrictJSON checks b with the JSON v2 jsontext decoder's defaults, which define strict
// JSON here. encoding/json, which decodes the bodies, replaces invalid UTF-8 and keeps
// the last of two duplicate names; a body whose meaning depends on which parser reads it
// is refused instead. The standard library's encoding/json/jsontext is the same code
// but exists only under GOEXPERIMENT=jsonv2, which every build (make, sam build, the
// local stack, vet, staticcheck) would have to set; its upstream module needs nothing.
func StrictJSON(b []byte) error {
	if !jsontext.Value(b).IsValid() {
		return ErrNotStrictJSON
	}
	return nil
}
