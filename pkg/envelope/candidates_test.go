package envelope

import (
	"encoding/json"
	"testing"

	"github.com/bytedance/sonic"
	"github.com/go-json-experiment/json/jsontext"
	gojson "github.com/goccy/go-json"
	"github.com/valyala/fastjson"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// candidate is one way to check or decode a push payload. valid reports whether the
// payload was accepted.
type candidate struct {
	name  string
	valid func(b []byte) bool
}

// candidates are the JSON libraries issue 13 names, as validators and as extractors of
// what the envelope needs, measured side by side with Build (BenchmarkCandidates; the
// table is in ../ingest/README.md). Only Build's own libraries ship: the others are
// linked into this test binary alone. stdCandidates adds the standard library's
// encoding/json/jsontext when the toolchain has it (GOEXPERIMENT=jsonv2).
var candidates = []candidate{
	{"Build", func(b []byte) bool { _, err := Build("push", "d", b, received); return err == nil }},
	{"jsontext-valid", func(b []byte) bool { return jsontext.Value(b).IsValid() }},
	{"encoding-json-valid", json.Valid},
	{"encoding-json-unmarshal", func(b []byte) bool { var p pushJSON; return json.Unmarshal(b, &p) == nil }},
	{"fastjson-validate", func(b []byte) bool { return fastjson.ValidateBytes(b) == nil }},
	{"fastjson-extract", fastjsonExtract},
	{"goccy-valid", gojson.Valid},
	{"goccy-unmarshal", func(b []byte) bool { var p pushJSON; return gojson.Unmarshal(b, &p) == nil }},
	{"sonic-valid", sonic.Valid},
	{"sonic-unmarshal", func(b []byte) bool { var p pushJSON; return sonic.Unmarshal(b, &p) == nil }},
}

var fastjsonParsers fastjson.ParserPool

// fastjsonExtract parses the payload with fastjson and reads what a push envelope needs.
func fastjsonExtract(b []byte) bool {
	p := fastjsonParsers.Get()
	defer fastjsonParsers.Put(p)
	v, err := p.ParseBytes(b)
	if err != nil {
		return false
	}
	var paths []string
	for _, c := range v.GetArray("commits") {
		for _, k := range []string{"added", "modified", "removed"} {
			for _, s := range c.GetArray(k) {
				paths = append(paths, string(s.GetStringBytes()))
			}
		}
	}
	return v.GetInt64("repository", "id") != 0 && len(v.GetStringBytes("ref")) > 0 && v.GetStringBytes("repository", "full_name") != nil && paths != nil
}

// Payloads strict JSON refuses, which tell whether a candidate is strict.
var (
	duplicateName = []byte(`{"ref":"a","ref":"b","repository":{"id":1,"full_name":"a/b"},"commits":[{"added":["x"]}]}`)
	invalidUTF8   = []byte("{\"ref\":\"\xff\",\"repository\":{\"id\":1,\"full_name\":\"a/b\"},\"commits\":[{\"added\":[\"x\"]}]}")
)

// BenchmarkCandidates measures every candidate on the sizes of BenchmarkIngest (the
// real with-new-branch push, that push grown to about 100 kB and 1 MB, and to 2,048
// commits). Each sub-benchmark also reports whether the candidate refuses a duplicate
// name and invalid UTF-8 (strict 1) or not (strict 0).
func BenchmarkCandidates(b *testing.B) {
	commitsFor := func(size int) int { return 1 + (size-7710)/582 }
	sizes := []struct {
		name string
		body []byte
	}{
		{"8KB", testkit.PayloadBytes(b, "push/with-new-branch.payload.json")},
		{"100KB", testkit.BigPush(b, commitsFor(100<<10), 1, 40)},
		{"1MB", testkit.BigPush(b, commitsFor(1<<20), 1, 40)},
		{"2048commits", testkit.BigPush(b, 2048, 1, 40)},
	}
	for _, size := range sizes {
		for _, c := range append(candidates, stdCandidates...) {
			b.Run(size.name+"/"+c.name, func(b *testing.B) {
				strict := 0.0
				if !c.valid(duplicateName) && !c.valid(invalidUTF8) {
					strict = 1
				}
				if !c.valid(size.body) {
					b.Fatalf("%s refuses the %s push", c.name, size.name)
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(size.body)))
				for b.Loop() {
					c.valid(size.body)
				}
				b.ReportMetric(strict, "strict")
			})
		}
	}
}
