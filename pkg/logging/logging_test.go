package logging

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

func TestOrDiscard(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	if got := OrDiscard(l); got != l {
		t.Errorf("OrDiscard(l) = %p, want l (%p)", got, l)
	}
	d := OrDiscard(nil)
	if d == nil || d.Enabled(context.Background(), slog.LevelError) {
		t.Errorf("OrDiscard(nil) = %v, want a logger with nothing enabled", d)
	}
	d.Error("dropped")
	if buf.Len() != 0 {
		t.Errorf("OrDiscard(nil) wrote %q to another logger", buf.String())
	}
}
