package config

import (
	"errors"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The parsers take the value as set (surrounding spaces are ignored) and return an error
// that says what is wrong with it; Env adds the variable's name and form.

// ParseURL accepts an absolute http or https URL with a host.
func ParseURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("not an absolute http(s) URL")
	}
	return s, nil
}

// ParseInt accepts a decimal integer.
func ParseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, errors.New("not a decimal integer")
	}
	return n, nil
}

// ParseFloat accepts a finite decimal number.
func ParseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("not a number")
	}
	return f, nil
}

// ParseDuration accepts a Go duration ("90s", "5m", "720h"). A bare number is refused:
// it would leave the unit to be guessed.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, errors.New("not a Go duration")
	}
	return d, nil
}

// ParseBool accepts true or false (and strconv.ParseBool's other spellings: 1, t, TRUE,
// 0, f, FALSE, …).
func ParseBool(s string) (bool, error) {
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return false, errors.New("not true or false")
	}
	return b, nil
}

// ParseList splits a comma-separated list, trimming each value and dropping blanks.
func ParseList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ParseARN accepts an Amazon Resource Name ("arn:partition:service:…").
func ParseARN(s string) (string, error) {
	s = strings.TrimSpace(s)
	if parts := strings.SplitN(s, ":", 6); len(parts) < 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return "", errors.New("not an ARN")
	}
	return s, nil
}
