package httpapi

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/repotrackr/github-integration/pkg/testkit"
)

// maxDepth is the JSON v2 jsontext decoder's default nesting limit.
const maxDepth = 10000

func nest(depth int) string {
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

func TestStrictJSON(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"object", `{"a":1,"b":[true,null,"x"]}`, true},
		{"nesting at the limit", nest(maxDepth), true},
		{"objects nested at the limit", strings.Repeat(`{"a":`, maxDepth) + `1` + strings.Repeat(`}`, maxDepth), true},
		{"nesting one past the limit", nest(maxDepth + 1), false},
		{"objects nested one past the limit", strings.Repeat(`{"a":`, maxDepth+1) + `1` + strings.Repeat(`}`, maxDepth+1), false},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", false},
		{"overlong UTF-8 encoding", "{\"a\":\"\xc0\xaf\"}", false},
		{"UTF-16 surrogate encoded as UTF-8", "{\"a\":\"\xed\xa0\x80\"}", false},
		{"lone surrogate escape", `{"a":"\udc00"}`, false},
		{"duplicate names", `{"a":1,"a":2}`, false},
		{"duplicate names through an escape", `{"a":1,"\u0061":2}`, false},
		{"duplicate names deep inside", `{"x":[{"a":1,"a":1}]}`, false},
		{"same name in two objects", `[{"a":1},{"a":2}]`, true},
		{"truncated", `{"a":`, false},
		{"two values", `{} {}`, false},
		{"empty", ``, false},
		{"whitespace around", " \n{}\t", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := StrictJSON([]byte(tt.in))
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNotStrictJSON)) {
				t.Errorf("StrictJSON(%.40q) = %v, want ok %t", tt.in, err, tt.ok)
			}
		})
	}
}

// FuzzStrictJSON checks that StrictJSON never panics and never accepts a body that
// encoding/json refuses.
func FuzzStrictJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":1,"a":2}`, "{\"a\":\"\xff\"}", nest(20), `[1,"\ud800"]`, `{"a":{"b":[null,true,1e9]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if StrictJSON(b) == nil && !stdValid(b) {
			t.Fatalf("StrictJSON(%q) = nil, but encoding/json refuses it", b)
		}
	})
}

func stdValid(b []byte) bool { return json.Valid(b) }

// BenchmarkStrictJSON checks a push of 300 commits (about 470 KB), the cost StrictJSON
// adds to each delivery before the envelope is built.
func BenchmarkStrictJSON(b *testing.B) {
	body := testkit.BigPush(b, 300, 4, 250)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := StrictJSON(body); err != nil {
			b.Fatal(err)
		}
	}
}
