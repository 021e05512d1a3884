// Package logging holds the one rule for the loggers that this module's packages take in
// their Config structs (always a field named Log): a nil *slog.Logger means discard.
// The functions pass the JSON logger that pkg/startup builds; tests that do not look at
// log lines pass nothing.
package logging

import "log/slog"

// OrDiscard returns l, or a logger that discards everything when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
