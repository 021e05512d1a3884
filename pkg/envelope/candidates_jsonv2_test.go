//go:build goexperiment.jsonv2

package envelope

// The standard library's encoding/json/jsontext exists only under GOEXPERIMENT=jsonv2
// (Go 1.25 and 1.26), so this candidate needs that tag: `GOEXPERIMENT=jsonv2 go test
// -bench Candidates ./pkg/envelope`, as make bench-candidates runs it.

import stdjsontext "encoding/json/jsontext"

var stdCandidates = []candidate{
	{"std-jsontext-valid", func(b []byte) bool { return stdjsontext.Value(b).IsValid() }},
}
