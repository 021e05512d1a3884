package ingest

import (
	"errors"

	"github.com/go-json-experiment/json/jsontext"
)

// errNotStrictJSON means a payload is not the strict JSON the design brief defines: it
// is not valid JSON, holds invalid UTF-8 (or an escape that is no Unicode code point),
// names one member of an object twice, or nests deeper than jsontext's default limit
// (10,000). The envelope builder decodes with encoding/json, which replaces invalid
// UTF-8 and keeps the last of two duplicate names; a payload GitHub never sends, whose
// meaning depends on which parser reads it, is refused instead.
var errNotStrictJSON = errors.New("payload is not strict JSON (RFC 7493 I-JSON: valid UTF-8, unique names, nesting at most 10000)")

// checkStrict checks payload with the JSON v2 jsontext decoder's defaults, which are the
// definition of strict here. The standard library's encoding/json/jsontext is the same
// code but exists only under GOEXPERIMENT=jsonv2, which every build (make, sam build,
// the local stack, vet, staticcheck) would have to set; its upstream module needs nothing.
func checkStrict(payload []byte) error {
	if !jsontext.Value(payload).IsValid() {
		return errNotStrictJSON
	}
	return nil
}
