package health

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

var (
	errIncomplete    = errors.New("GetMetricData answered in more than one page")
	errBadAttributes = errors.New("queue attributes are not numbers")
	// ErrBadWindow is a window other than the three the routes serve.
	ErrBadWindow = errors.New("window must be one of 1h, 6h or 24h")
)

// resultError is a GetMetricData result CloudWatch could not complete.
type resultError struct{ id, status string }

func (e *resultError) Error() string {
	return fmt.Sprintf("metric query %s: status %s", e.id, e.status)
}

// ParseWindow reads the ?window= parameter: empty is DefaultWindow; otherwise exactly
// one of Windows as FormatWindow writes it ("1h", "6h", "24h"). Only these three are
// served, so that the cache, keyed by the window alone, holds at most three reports and
// no query string can make a request miss it (each miss is a paid GetMetricData call).
func ParseWindow(s string) (time.Duration, error) {
	if s == "" {
		return DefaultWindow, nil
	}
	for _, w := range Windows {
		if s == FormatWindow(w) {
			return w, nil
		}
	}
	return 0, ErrBadWindow
}

// FormatWindow writes a window the way ParseWindow reads it, shortest form: 1h, 15m,
// 1h30m.
func FormatWindow(d time.Duration) string {
	h, m := int64(d/time.Hour), int64(d%time.Hour/time.Minute)
	var b strings.Builder
	if h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "h")
	}
	if m > 0 || h == 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "m")
	}
	return b.String()
}

// fmtRate writes a rate as a percentage with up to two decimals: 97.5%, 95%.
func fmtRate(r float64) string { return strconv.FormatFloat(math.Round(r*1e4)/100, 'f', -1, 64) + "%" }

// fmtDuration writes a threshold: whole minutes as a window is written (5m, 1h30m),
// anything else in Go's notation.
func fmtDuration(d time.Duration) string {
	if d >= time.Minute && d%time.Minute == 0 {
		return FormatWindow(d)
	}
	return d.String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// fmtAge writes seconds as the largest two units: 45s, 3m 20s, 2h 5m.
func fmtAge(secs int64) string {
	d := time.Duration(secs) * time.Second
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", secs)
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", secs/60, secs%60)
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", secs/3600, secs%3600/60)
	}
	return fmt.Sprintf("%dd %dh", secs/86400, secs%86400/3600)
}
