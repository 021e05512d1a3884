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

// fill repeats unit (after head, before tail) up to about size bytes; unit may use
// %[1]d for a counter.
func fill(size int, head, unit, tail string) []byte {
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len() < size-len(tail)-128; i++ {
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
	content func(size int) []byte
}{
	"npm many":        {"package.json", func(n int) []byte { return fill(n, `{"dependencies":{`, `"d%d":"1",`, `"z":"1"}}`) }},
	"npm nested":      {"package.json", func(n int) []byte { return fill(n, `{"x":`, "[", "") }},
	"npm long string": {"package.json", func(n int) []byte { return fill(n, `{"dependencies":{"a":"`, "x", `"}}`) }},
	"cargo many":      {"Cargo.toml", func(n int) []byte { return fill(n, "[dependencies]\n", "d%d = \"1\"\n", "") }},
	"cargo tables":    {"Cargo.toml", func(n int) []byte { return fill(n, "", "[dependencies.d%d]\nversion=\"1\"\n", "") }},
	"cargo inline":    {"Cargo.toml", func(n int) []byte { return fill(n, "x = [", "{a=1},", "]\n") }},
	"cargo nested": {"Cargo.toml", func(n int) []byte {
		return fill(n, "", "x%d = "+strings.Repeat("[", 64)+strings.Repeat("]", 64)+"\n", "")
	}},
	"cargo too deep":    {"Cargo.toml", func(n int) []byte { return fill(n, "x = ", "[", "") }},
	"pyproject many":    {"pyproject.toml", func(n int) []byte { return fill(n, "[tool.poetry.dependencies]\n", "d%d = \"1\"\n", "") }},
	"requirements many": {"requirements.txt", func(n int) []byte { return fill(n, "", "d%d==1\n", "") }},
	"requirements cont": {"requirements.txt", func(n int) []byte { return fill(n, "a", "\\\n", "") }},
	"go.mod many":       {"go.mod", func(n int) []byte { return fill(n, "module x\n", "require example.com/d%d v1.0.0\n", "") }},
	"dockerfile many":   {"Dockerfile", func(n int) []byte { return fill(n, "", "FROM d%d:1 AS s%[1]d\n", "") }},
}

// TestParseHostile parses each hostile input: an answer (dependencies or ErrMalformed),
// never a panic. A quarter of MaxSize keeps it quick under -race;
// BenchmarkParseHostile measures time and memory at MaxSize.
func TestParseHostile(t *testing.T) {
	for name, h := range hostileManifests {
		t.Run(name, func(t *testing.T) {
			content := h.content(MaxSize / 4)
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
		content := h.content(MaxSize)
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(content)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Parse(h.path, content)
			}
		})
	}
}
