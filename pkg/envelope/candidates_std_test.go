//go:build !goexperiment.jsonv2

package envelope

// stdCandidates is empty without GOEXPERIMENT=jsonv2: the standard library has no
// encoding/json/jsontext then (see candidates_jsonv2_test.go).
var stdCandidates []candidate
