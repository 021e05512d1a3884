package devstack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// console writes the stack's output: progress lines and every component's log lines,
// each prefixed with the component's name, one line at a time.
type console struct {
	mu    sync.Mutex
	w     io.Writer
	width int
}

func newConsole(w io.Writer) *console {
	if w == nil {
		w = io.Discard
	}
	return &console{w: w, width: 10}
}

// line writes one line under a component's name.
func (c *console) line(component string, text []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "%-*s | %s\n", c.width, component, bytes.TrimRight(text, "\r\n"))
}

// progress writes a progress line of the stack itself.
func (c *console) progress(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, "==> "+format+"\n", args...)
}

// logger is a slog.Logger printing compact text lines under a component's name.
func (c *console) logger(component string) *slog.Logger {
	return slog.New(&lineHandler{c: c, component: component, level: slog.LevelInfo})
}

// lineHandler formats records as "msg key=value ..." lines on the console.
type lineHandler struct {
	c         *console
	component string
	level     slog.Level
	attrs     []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	if r.Level >= slog.LevelWarn {
		b.WriteString(r.Level.String())
		b.WriteByte(' ')
	}
	b.WriteString(r.Message)
	write := func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value.Any())
		return true
	}
	for _, a := range h.attrs {
		write(a)
	}
	r.Attrs(write)
	h.c.line(h.component, []byte(b.String()))
	return nil
}

func (h *lineHandler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	return &n
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }

// logFile is an append-only log under .devstack/logs, safe for concurrent lines.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func openLog(dir, name string) (*logFile, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create log dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &logFile{f: f}, nil
}

func (l *logFile) line(b []byte) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.f.Write(append(append([]byte(nil), b...), '\n'))
}

// Write lets a logFile take a process's output.
func (l *logFile) Write(b []byte) (int, error) {
	if l == nil {
		return len(b), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(b)
}

func (l *logFile) Close() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
