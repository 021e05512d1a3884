package manifest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseTooLarge(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			content := []byte(strings.Repeat(" ", MaxSize+1))
			if _, err := Parse("x/"+name, content); !errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%s, %d bytes) error = %v, want ErrTooLarge", name, len(content), err)
			}
			if _, err := Parse("x/"+name, content[:MaxSize]); errors.Is(err, ErrTooLarge) {
				t.Errorf("Parse(%s, %d bytes) error = %v, want MaxSize accepted", name, MaxSize, err)
			}
		})
	}
}

// fill repeats unit (after head, before tail) up to about MaxSize bytes; unit may use
// %[1]d for a counter.
func fill(head, unit, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < MaxSize-len(tail)-128; i++ {
		if strings.Contains(unit, "%") {
			fmt.Fprintf(&b, unit, i)
		} else {
			b.WriteString(unit)
		}
	}
	b.WriteString(tail)
	return []byte(b.String())
}

// hostileManifests are MaxSize inputs shaped to cost each parser the most: many
// entries, deep nesting, long arrays of inline tables.
var hostileManifests = map[string]struct {
	path    string
	content func() []byte
}{
	"npm many":          {"package.json", func() []byte { return fill(`{"dependencies":{`, `"d%d":"1",`, `"z":"1"}}`) }},
	"npm nested":        {"package.json", func() []byte { return fill(`{"x":`, "[", "") }},
	"npm long string":   {"package.json", func() []byte { return fill(`{"dependencies":{"a":"`, "x", `"}}`) }},
	"cargo many":        {"Cargo.toml", func() []byte { return fill("[dependencies]\n", "d%d = \"1\"\n", "") }},
	"cargo tables":      {"Cargo.toml", func() []byte { return fill("", "[dependencies.d%d]\nversion=\"1\"\n", "") }},
	"cargo inline":      {"Cargo.toml", func() []byte { return fill("x = [", "{a=1},", "]\n") }},
	"cargo nested":      {"Cargo.toml", func() []byte { return fill("", "x%d = "+strings.Repeat("[", 64)+strings.Repeat("]", 64)+"\n", "") }},
	"cargo too deep":    {"Cargo.toml", func() []byte { return fill("x = ", "[", "") }},
	"pyproject many":    {"pyproject.toml", func() []byte { return fill("[tool.poetry.dependencies]\n", "d%d = \"1\"\n", "") }},
	"requirements many": {"requirements.txt", func() []byte { return fill("", "d%d==1\n", "") }},
	"requirements cont": {"requirements.txt", func() []byte { return fill("a", "\\\n", "") }},
	"go.mod many":       {"go.mod", func() []byte { return fill("module x\n", "require example.com/d%d v1.0.0\n", "") }},
	"dockerfile many":   {"Dockerfile", func() []byte { return fill("", "FROM d%d:1 AS s%[1]d\n", "") }},
}

// TestParseHostile parses each hostile input of MaxSize: an answer (dependencies or
// ErrMalformed), never a panic; BenchmarkParseHostile measures time and memory.
func TestParseHostile(t *testing.T) {
	for name, h := range hostileManifests {
		t.Run(name, func(t *testing.T) {
			content := h.content()
			if len(content) > MaxSize {
				t.Fatalf("fixture is %d bytes, over MaxSize", len(content))
			}
			if _, err := Parse(h.path, content); err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("Parse(%s, %s) error = %v, want dependencies or ErrMalformed", h.path, name, err)
			}
		})
	}
}

// BenchmarkParseHostile reads the hostile inputs of MaxSize (see
// pkg/processor/README.md for the figures).
func BenchmarkParseHostile(b *testing.B) {
	for name, h := range hostileManifests {
		content := h.content()
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Parse(h.path, content)
			}
		})
	}
}
