package testkit

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
)

// LogBuffer collects what concurrent writers write (a logger, a metrics sink, a child
// process's output); its zero value is ready to use.
type LogBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Logger returns a JSON logger at debug level writing to l.
func (l *LogBuffer) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Lines decodes what was written as JSON values, one object each (log lines, EMF lines),
// and fails the test on anything else.
func (l *LogBuffer) Lines(t testing.TB) []map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(l.String())))
	var out []map[string]any
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("decode a line of %q: %v", l.String(), err)
		}
		out = append(out, m)
	}
	return out
}
